-- Daily insider dollar flow per ticker by the day it became known, split into three
-- disjoint classes: 10b5-1 plan trades (plan), else routine trades (routine), else
-- opportunistic. Sells count negative in the *_net_usd columns;
-- opportunistic_sell_usd is the sold amount as a positive number, so
-- opportunistic_net_usd = opportunistic_buy_usd - opportunistic_sell_usd.
WITH classified AS (
    SELECT
        ticker, known_date, owner_cik, code, value_usd,
        CASE
            WHEN is_10b5_1 THEN 'plan'
            WHEN is_routine THEN 'routine'
            ELSE 'opportunistic'
        END AS trade_class
    FROM {{ ref('stg_insider_open_market') }}
)

SELECT
    ticker,
    known_date,
    SUM(CASE WHEN trade_class = 'opportunistic' THEN value_usd ELSE 0.0 END)
        AS opportunistic_net_usd,
    SUM(CASE WHEN trade_class = 'opportunistic' AND code = 'P' THEN value_usd ELSE 0.0 END)
        AS opportunistic_buy_usd,
    SUM(CASE WHEN trade_class = 'opportunistic' AND code = 'S' THEN -value_usd ELSE 0.0 END)
        AS opportunistic_sell_usd,
    SUM(CASE WHEN trade_class = 'routine' THEN value_usd ELSE 0.0 END) AS routine_net_usd,
    SUM(CASE WHEN trade_class = 'plan' THEN value_usd ELSE 0.0 END) AS plan_net_usd,
    COUNT(DISTINCT CASE WHEN trade_class = 'opportunistic' AND code = 'P' THEN owner_cik END)
        AS n_buyers,
    COUNT(DISTINCT CASE WHEN trade_class = 'opportunistic' AND code = 'S' THEN owner_cik END)
        AS n_sellers
FROM classified
GROUP BY ticker, known_date
