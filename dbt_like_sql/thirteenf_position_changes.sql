-- Position changes of each 13F version against the filer's previous period as it was
-- known on that version's date: the latest period before this one with a version known
-- by version_date, in its latest such version. A filer's first known period has no
-- previous period and yields no rows. New positions have prev_shares 0, exited ones
-- shares 0; share_change_pct is NULL for both.
WITH pit AS (
    SELECT filer_cik, period_of_report, version_date, ticker, shares
    FROM {{ ref('stg_thirteenf_holdings_pit') }}
),

snapshots AS (
    SELECT DISTINCT filer_cik, period_of_report, version_date FROM pit
),

previous_candidates AS (
    SELECT
        s.filer_cik,
        s.period_of_report,
        s.version_date,
        p.period_of_report AS prev_period,
        p.version_date AS prev_version_date,
        ROW_NUMBER() OVER (
            PARTITION BY s.filer_cik, s.period_of_report, s.version_date
            ORDER BY p.period_of_report DESC, p.version_date DESC
        ) AS recency
    FROM snapshots s
    JOIN snapshots p
      ON p.filer_cik = s.filer_cik
     AND p.period_of_report < s.period_of_report
     AND p.version_date <= s.version_date
),

pairs AS (
    SELECT * FROM previous_candidates WHERE recency = 1
),

both_sides AS (
    SELECT pr.filer_cik, pr.period_of_report, pr.version_date, c.ticker,
           c.shares, CAST(0 AS DOUBLE PRECISION) AS prev_shares
    FROM pairs pr
    JOIN pit c
      ON c.filer_cik = pr.filer_cik
     AND c.period_of_report = pr.period_of_report
     AND c.version_date = pr.version_date
    UNION ALL
    SELECT pr.filer_cik, pr.period_of_report, pr.version_date, p.ticker,
           CAST(0 AS DOUBLE PRECISION) AS shares, p.shares AS prev_shares
    FROM pairs pr
    JOIN pit p
      ON p.filer_cik = pr.filer_cik
     AND p.period_of_report = pr.prev_period
     AND p.version_date = pr.prev_version_date
),

combined AS (
    SELECT filer_cik, period_of_report, version_date, ticker,
           SUM(shares) AS shares, SUM(prev_shares) AS prev_shares
    FROM both_sides
    GROUP BY filer_cik, period_of_report, version_date, ticker
)

SELECT
    filer_cik,
    period_of_report,
    version_date,
    ticker,
    shares,
    prev_shares,
    CASE
        WHEN prev_shares = 0 THEN 'new'
        WHEN shares = 0 THEN 'exited'
        WHEN shares > prev_shares THEN 'added'
        WHEN shares < prev_shares THEN 'trimmed'
        ELSE 'unchanged'
    END AS change_type,
    CASE
        WHEN prev_shares = 0 OR shares = 0 THEN NULL
        ELSE shares / prev_shares - 1
    END AS share_change_pct
FROM combined
WHERE shares <> 0 OR prev_shares <> 0
