-- Open-market, non-derivative Form 4 purchases (P) and sales (S), signed in dollars.
--
-- is_routine (Cohen, Malloy & Pomorski): the owner also traded this ticker on the open
-- market in the same calendar month of each of the three prior calendar years, by
-- transaction date — counting only those earlier trades already known (filed) when
-- this one became known, so the flag is point-in-time.
WITH trades AS (
    SELECT
        accession, line, ticker, owner_cik, known_date, transaction_date,
        code, shares, price, is_10b5_1,
        {{ year('transaction_date') }} AS tx_year,
        {{ month('transaction_date') }} AS tx_month
    FROM {{ source('raw', 'insider_trades') }}
    WHERE code IN ('P', 'S')
      AND NOT is_derivative
),

routine AS (
    SELECT t.accession, t.line
    FROM trades t
    JOIN trades h
      ON h.owner_cik = t.owner_cik
     AND h.ticker = t.ticker
     AND h.tx_month = t.tx_month
     AND h.tx_year >= t.tx_year - 3
     AND h.tx_year <= t.tx_year - 1
     AND h.known_date <= t.known_date
    GROUP BY t.accession, t.line
    HAVING COUNT(DISTINCT h.tx_year) = 3
)

SELECT
    t.accession,
    t.line,
    t.ticker,
    t.owner_cik,
    t.known_date,
    t.transaction_date,
    t.code,
    t.shares,
    t.price,
    t.shares * t.price * CASE WHEN t.code = 'P' THEN 1 ELSE -1 END AS value_usd,
    t.is_10b5_1,
    CASE WHEN r.accession IS NULL THEN FALSE ELSE TRUE END AS is_routine
FROM trades t
LEFT JOIN routine r ON r.accession = t.accession AND r.line = t.line
