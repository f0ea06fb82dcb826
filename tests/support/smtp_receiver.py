"""An SMTP server for the tests (aiosmtpd, from Debian's python3-aiosmtpd), on loopback.

    /usr/bin/python3 tests/support/smtp_receiver.py [--password PW]

Prints {"port": N} once it listens, then one JSON line per accepted message:
{"from", "to", "data", "authenticated"}. With --password, AUTH PLAIN/LOGIN is offered
(without TLS: loopback only) and succeeds for the user "cronkit" with that password.
It offers no STARTTLS.
"""
import argparse
import json
import socket
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "authenticated": bool(session.authenticated),
        }), flush=True)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--password")
    args = parser.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"cronkit" and auth_data.password == args.password.encode()
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    port = free_port()
    options = {}
    if args.password:
        options = {"auth_require_tls": False, "authenticator": authenticator}
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print(json.dumps({"port": port}), flush=True)
    # Runs until its standard input closes (the test ends).
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
