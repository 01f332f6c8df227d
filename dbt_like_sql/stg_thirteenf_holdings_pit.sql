-- Point-in-time 13F holdings: one version per (filer, period) and filing date.
--
-- A version valid from version_date d holds the rows of the latest base filing (the
-- original 13F-HR or a RESTATEMENT) known by d, plus every NEW HOLDINGS amendment known
-- after that base and by d. Filings are ordered by (known_date, accession); several
-- filings known the same day give one version, the state after the last of them.
-- Filing events come from all rows (a restatement holding only options still replaces
-- its base); holdings drop options (put_call set), PRN rows and securities with no ticker.
WITH filings AS (
    SELECT DISTINCT
        filer_cik,
        period_of_report,
        accession,
        known_date,
        CASE WHEN amendment_type = 'NEW HOLDINGS' THEN 0 ELSE 1 END AS is_base
    FROM {{ source('raw', 'thirteenf_holdings') }}
),

holdings AS (
    SELECT accession, ticker, shares, value_usd
    FROM {{ source('raw', 'thirteenf_holdings') }}
    WHERE put_call IS NULL
      AND share_type <> 'PRN'
      AND ticker IS NOT NULL
),

versions AS (
    SELECT DISTINCT filer_cik, period_of_report, known_date AS version_date
    FROM filings
),

ranked_bases AS (
    SELECT
        v.filer_cik,
        v.period_of_report,
        v.version_date,
        f.accession,
        f.known_date,
        ROW_NUMBER() OVER (
            PARTITION BY v.filer_cik, v.period_of_report, v.version_date
            ORDER BY f.known_date DESC, f.accession DESC
        ) AS recency
    FROM versions v
    JOIN filings f
      ON f.filer_cik = v.filer_cik
     AND f.period_of_report = v.period_of_report
     AND f.is_base = 1
     AND f.known_date <= v.version_date
),

bases AS (
    SELECT filer_cik, period_of_report, version_date, accession, known_date
    FROM ranked_bases
    WHERE recency = 1
),

version_filings AS (
    SELECT filer_cik, period_of_report, version_date, accession
    FROM bases
    UNION ALL
    -- NEW HOLDINGS after the version's base (all of them when no base is known yet)
    SELECT v.filer_cik, v.period_of_report, v.version_date, f.accession
    FROM versions v
    JOIN filings f
      ON f.filer_cik = v.filer_cik
     AND f.period_of_report = v.period_of_report
     AND f.is_base = 0
     AND f.known_date <= v.version_date
    LEFT JOIN bases b
      ON b.filer_cik = v.filer_cik
     AND b.period_of_report = v.period_of_report
     AND b.version_date = v.version_date
    WHERE b.accession IS NULL
       OR f.known_date > b.known_date
       OR (f.known_date = b.known_date AND f.accession > b.accession)
)

SELECT
    vf.filer_cik,
    vf.period_of_report,
    vf.version_date,
    h.ticker,
    SUM(h.shares) AS shares,
    SUM(h.value_usd) AS value_usd
FROM version_filings vf
JOIN holdings h ON h.accession = vf.accession
GROUP BY vf.filer_cik, vf.period_of_report, vf.version_date, h.ticker
