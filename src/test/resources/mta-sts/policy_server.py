# An HTTPS server for MTA-STS peer tests: serves ROOT/<Host>/mta-sts.txt at /.well-known/mta-sts.txt,
# with the TLS certificate and key given, and logs each GET as "<wall-clock ns> GET <host> <path>".
import http.server
import os
import ssl
import sys
import time

root, address, port, cert, key, log = sys.argv[1:7]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with open(log, "a") as f:
            f.write("%d GET %s %s\n" % (time.time_ns(), host, self.path))
        path = os.path.join(root, host, "mta-sts.txt")
        if self.path != "/.well-known/mta-sts.txt" or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer((address, int(port)), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("ready", flush=True)
server.serve_forever()
