# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Services: the application's rules. They raise domain errors, never HTTP ones.

Every service keeps the same contract:

- Each is built one way: a service on a database session by `Service.for_session(session,
  ...)`, which the routes' dependencies, the WebSocket route and start-up all call; the login
  service (lesson 06) by its dependency, from the user service and the limiter.
- Every method returns a schema (`UserResponse`, `ItemResponse`, `Principal`, `Token`), never
  an ORM object. A cached read can only return a schema (the cache holds JSON), so the other
  methods return one too and a caller always gets one type; and nothing outside a service
  holds a row whose session has closed (touching an unloaded attribute of one raises, under
  async SQLAlchemy). The password hash never leaves: no schema a service returns has it.
- Permissions are checked here, in the method that has the data a rule needs (whose item is
  this? is the actor that user?), so every caller gets them: routes, the WebSocket route,
  start-up, scripts and tests. A dependency only says who is calling (`CurrentUser`, lesson
  06); a route may add a gate for an endpoint only superusers may call at all
  (`CurrentSuperuser`), on top of the service's checks, never instead of them.
- No database error comes up to here: the repositories turn them into domain errors (a
  broken unique constraint into `Conflict`).
"""
