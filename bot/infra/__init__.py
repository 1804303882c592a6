"""Process infrastructure shared by every part: the embedded Redis server, the runtime
(stop signals, supervised parts, the worker part, ``/healthz``), operations endpoints, logging
and spans of time in words."""
