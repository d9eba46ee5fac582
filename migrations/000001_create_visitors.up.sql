-- Visitors: the pseudonymous ids the gateway assigns (cookie or cookieless hash), never an address.
CREATE TABLE visitors (
    id         uuid PRIMARY KEY,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);

CREATE INDEX idx_visitors_last_seen ON visitors (last_seen);
