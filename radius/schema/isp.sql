-- Indexes of radacct for what Odoo and the isp_authorize policy read, on top
-- of FreeRADIUS's own schema.sql. Without them each usage import and each
-- Access-Request scans the whole table, whose cost grows with it; with them
-- it stays flat (make bench, row (6) with 2,000,000 rows already booked).
-- Safe to run again: nothing is created twice.
--
--   psql -d radius -f radius/schema/isp.sql
--
-- On a busy production table, CREATE INDEX CONCURRENTLY the same indexes
-- instead (one statement at a time, outside a transaction).

-- The usage import: rows updated since its last read.
CREATE INDEX IF NOT EXISTS radacct_isp_reported_idx
    ON radacct ((COALESCE(acctupdatetime, acctstoptime, acctstarttime)));

-- isp_cap (a user's sessions since the period began) and
-- isp_simultaneous_use (a user's open sessions).
CREATE INDEX IF NOT EXISTS radacct_isp_user_start_idx
    ON radacct (username, acctstarttime);
