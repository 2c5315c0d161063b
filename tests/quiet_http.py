"""A threaded test HTTP server that keeps a client's hang-up to itself.

`socketserver` prints a traceback to `sys.stderr` for every request whose client went away (the
command under test ended, or a retry dropped its connection). Tests run commands in-process with
stderr captured, so a server thread of one test could write that traceback into another test's
captured output and fail it. Connection errors are expected of a test's clients; anything else
is still reported.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose handler threads are daemons and ignore a client's hang-up."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # reset, broken pipe, timeout: the client left, not the test's concern
        super().handle_error(request, client_address)
