#!/bin/sh
# ugate's command line (check, capture, version, ...) on the router's txiki.js.
exec /usr/bin/tjs run /usr/share/ugate/ugate.js "$@"
