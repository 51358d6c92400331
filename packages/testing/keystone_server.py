"""Keystone's public API on a threaded WSGI server, for the tests' Keystones (TestKeystone, Tempest).

Debian's keystone-wsgi-public serves one request at a time: a token validation by the stack
then waits behind Tempest's own logins and user creations (each hashes a password), which
took longer than the stack's Keystone timeout on a busy machine. Production Keystone runs
threaded under uwsgi or mod_wsgi; this does the same with the standard library.
Usage: keystone_server.py HOST PORT (the configuration comes from OS_KEYSTONE_CONFIG_FILES).
"""
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

from keystone.server.wsgi import initialize_public_application


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # Keystone parses the command line as its own options (oslo.config)
    sys.argv = sys.argv[:1]
    server = make_server(host, port, initialize_public_application(), server_class=ThreadingWSGIServer)
    server.serve_forever()


if __name__ == "__main__":
    main()
