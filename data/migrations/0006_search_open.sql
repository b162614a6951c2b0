-- SPDX-License-Identifier: GPL-3.0-or-later
-- GET /shipments/search?overdue=true, newest first. The overdue shipments
-- are open, not terminal and past their promise: a small and moving part
-- of the table. shipments_open_promised_idx finds them by promise, which
-- is not page order, so the planner sorted them all or walked every
-- shipment by creation; this index walks only the open ones, in page
-- order, and the promise is checked on that short walk.
CREATE INDEX shipments_open_created_idx ON shipments (created_at, id)
  WHERE closed_at IS NULL
    AND status NOT IN ('DELIVERED', 'RETURNED_TO_SENDER', 'CANCELLED', 'EXPIRED');
