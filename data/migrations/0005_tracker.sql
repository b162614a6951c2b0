-- SPDX-License-Identifier: GPL-3.0-or-later
-- The tracker role (docs/tracker.md): shipments created from TICKET_CREATED
-- exactly once per ticket, and the outcome of each carrier check on its
-- tracking, which the polling scheduler plans from.

-- One row per ticket: the primary key is what makes a redelivered or
-- concurrently consumed TICKET_CREATED create one shipment. The row is
-- claimed first (INSERT … ON CONFLICT DO NOTHING waits for a concurrent
-- claimant and then skips), and shipment_id is set in the same
-- transaction, so a committed row always names its shipment.
CREATE TABLE shipment_tickets (
  ticket_id    text PRIMARY KEY CONSTRAINT shipment_tickets_ticket_id_check CHECK (ticket_id <> ''),
  shipment_id  uuid REFERENCES shipments,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX shipment_tickets_shipment_idx ON shipment_tickets (shipment_id);

-- The last carrier check (tracking.updated) of each tracking. A check is
-- recorded only when newer than last_checked_at, so a redelivered one
-- counts its error once.
ALTER TABLE trackings
  ADD COLUMN last_checked_at     timestamptz,
  ADD COLUMN next_check_at       timestamptz,
  ADD COLUMN last_error          text,
  ADD COLUMN consecutive_errors  integer NOT NULL DEFAULT 0
             CONSTRAINT trackings_consecutive_errors_check CHECK (consecutive_errors >= 0);

-- The scheduler's "what is due" range.
CREATE INDEX trackings_next_check_idx ON trackings (next_check_at) WHERE next_check_at IS NOT NULL;
