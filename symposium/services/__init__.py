"""Business rules: plain functions taking a database session, the actor and arguments.

One home per rule, grouped by feature (see docs/architecture.md): ``core`` (audit, locking,
errors, tokens), ``programme``, ``registration``, ``mail``, ``backoffice``, ``accounts``,
``privacy``.

Who commits: a service **flushes**, it never commits; the boundary (a request, through
``blueprints.admin.perform`` or the view; a CLI command) commits once, or rolls back when a
service raised :class:`~symposium.services.core.errors.RuleError`. A service that changes
something on someone's behalf writes the audit entry itself, in the same transaction.
Documented exceptions, each for a reason given where it happens:

- ``core.locking.begin_write`` ends the read-only transaction a request had open on SQLite
  (it holds no writes) so that the write transaction begins IMMEDIATE;
- ``registration.lifecycle.register`` rolls back its own write transaction when a concurrent
  request committed the same address first, then answers as for a repeated registration;
- ``mail.delivery`` is a worker: each claim and each outcome is its own short transaction,
  so no lock is held while talking to a mail server.
"""
