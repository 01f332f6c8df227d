-- Each version's holdings as a share of that version's total reported value.
SELECT
    filer_cik,
    period_of_report,
    version_date,
    ticker,
    value_usd,
    value_usd / NULLIF(
        SUM(value_usd) OVER (PARTITION BY filer_cik, period_of_report, version_date), 0
    ) AS weight
FROM {{ ref('stg_thirteenf_holdings_pit') }}
