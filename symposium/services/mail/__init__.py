"""Mail as data: queued with the change (outbox), written later (render), sent by a worker
(delivery)."""
