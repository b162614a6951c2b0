-- SPDX-License-Identifier: GPL-3.0-or-later
-- Carrier polling (docs/polling.md): trackings that stand alone or belong
-- to a shipment, the state a scheduler plans from, leases that keep two
-- daemons from checking one tracking at once, each tracking's own event
-- history, and every carrier's rate limiter, shared by all daemons.

-- A tracking may stand alone (POST /trackings without shipmentId).
ALTER TABLE trackings ALTER COLUMN shipment_id DROP NOT NULL;

ALTER TABLE trackings
  -- What the carrier said last: canonical status, its own words, since when.
  ADD COLUMN status             text
             CONSTRAINT trackings_status_check CHECK (status IN (
               'PENDING', 'INFO_RECEIVED', 'IN_TRANSIT', 'OUT_FOR_DELIVERY',
               'FAILED_ATTEMPT', 'AVAILABLE_FOR_PICKUP', 'DELIVERED', 'EXCEPTION',
               'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED')),
  ADD COLUMN status_raw         text,
  ADD COLUMN status_at          timestamptz,
  -- When the carrier last told us something new (an event we had not
  -- stored); the ladder backs off from here, and 30 days of silence expire.
  ADD COLUMN last_change_at     timestamptz NOT NULL DEFAULT now(),
  -- Checks in a row that brought nothing new: the ladder's rung.
  ADD COLUMN unchanged_checks   integer NOT NULL DEFAULT 0
             CONSTRAINT trackings_unchanged_checks_check CHECK (unchanged_checks >= 0),
  -- A claim: who is checking it and until when. A crashed worker's lease
  -- simply runs out and the tracking is due again.
  ADD COLUMN lease_owner        text,
  ADD COLUMN lease_expires_at   timestamptz,
  -- POST /trackings/{id}/refresh throttle.
  ADD COLUMN refreshed_at       timestamptz,
  -- DELETE /trackings/{id}: no more polling, gone from the API; a POST of
  -- the same number brings it back.
  ADD COLUMN deleted_at         timestamptz,
  ADD CONSTRAINT trackings_lease_check CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL));

-- Due work per carrier, in due order: the claim walks this range. Leased
-- rows stay in it (their next_check_at is pushed to the lease's end).
CREATE INDEX trackings_due_idx ON trackings (carrier, next_check_at)
  WHERE next_check_at IS NOT NULL AND deleted_at IS NULL;

-- GET /trackings pages by id.
CREATE INDEX trackings_status_idx ON trackings (status, id) WHERE deleted_at IS NULL;

-- Every event a carrier reported for a tracking, whether or not it belongs
-- to a shipment. (tracking_id, event_id) makes a repeated check store
-- nothing; the shipment's own history is fed through tracking.updated.
CREATE TABLE tracking_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tracking_id     bigint NOT NULL REFERENCES trackings ON DELETE CASCADE,
  event_id        text NOT NULL CONSTRAINT tracking_events_event_id_check CHECK (event_id <> ''),
  status          text NOT NULL
                  CONSTRAINT tracking_events_status_check CHECK (status IN (
                    'PENDING', 'INFO_RECEIVED', 'IN_TRANSIT', 'OUT_FOR_DELIVERY',
                    'FAILED_ATTEMPT', 'AVAILABLE_FOR_PICKUP', 'DELIVERED', 'EXCEPTION',
                    'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED')),
  status_code     text,
  status_raw      text,
  occurred_at     timestamptz NOT NULL,
  occurred_at_raw text,
  zone_guessed    boolean NOT NULL DEFAULT false,
  location_text   text,
  description     text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tracking_events_tracking_event_key UNIQUE (tracking_id, event_id)
);

CREATE INDEX tracking_events_history_idx ON tracking_events (tracking_id, occurred_at DESC, id DESC);

-- One row per carrier: the generic cell rate algorithm (GCRA, a token
-- bucket kept as one instant: rate and burst come from the carriers file
-- with each request for permits, so a change of configuration needs no
-- migration), the UTC day's quota, a block set by a 429 and a circuit
-- breaker. Every daemon takes permits here, one UPDATE per batch, so the
-- limit holds for all of them together.
CREATE TABLE carrier_limits (
  carrier            text PRIMARY KEY CONSTRAINT carrier_limits_carrier_check CHECK (carrier <> ''),
  -- The theoretical arrival time: the next permit is due then, less the
  -- burst's tolerance.
  next_permit_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  quota_day          date NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
  quota_used         integer NOT NULL DEFAULT 0 CONSTRAINT carrier_limits_quota_used_check CHECK (quota_used >= 0),
  blocked_until      timestamptz,
  failures           integer NOT NULL DEFAULT 0 CONSTRAINT carrier_limits_failures_check CHECK (failures >= 0),
  breaker_open_until timestamptz,
  permits_total      bigint NOT NULL DEFAULT 0
);
