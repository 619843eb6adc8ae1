"""deploy/nginx/backtalk.conf run by Debian's nginx on loopback, for the tests
that put it in front of real servers (test_nginx.py: one instance,
test_scale_out.py: two). Only the listen lines, the certificate paths and the
instances file change; everything else is the site as installed."""

import os
import shutil
import signal
import subprocess

import deploy_support as support

SITE = support.source_path("deploy", "nginx", "backtalk.conf")
INSTANCES = support.source_path("deploy", "nginx", "backtalk-instances.conf")
INSTALLED_INSTANCES = "/etc/nginx/backtalk-instances.conf"
SITE_NAME = "chat.example.org"
ORIGIN = "https://" + SITE_NAME


def substitute(text, old, new, source=SITE):
    """Replaces a line of a deploy file; fails if the file no longer has it,
    so the test variant never silently drifts from the real file."""
    if old not in text:
        raise AssertionError("%s no longer contains %r" % (os.path.relpath(source, support.SOURCE_DIR), old))
    return text.replace(old, new)


def render_site(text, http_port, https_port, instances_file, cert, key):
    text = substitute(text, "    listen 80;\n", "    listen 127.0.0.1:%d;\n" % http_port)
    text = substitute(text, "    listen 443 ssl http2;\n", "    listen 127.0.0.1:%d ssl http2;\n" % https_port)
    # The test binds IPv4 loopback only: IPv6 may be off on the machine.
    text = substitute(text, "    listen [::]:80;\n", "")
    text = substitute(text, "    listen [::]:443 ssl http2;\n", "")
    text = substitute(text, "ssl_certificate     /etc/ssl/certs/chat.example.org.pem;",
                      "ssl_certificate     %s;" % cert)
    text = substitute(text, "ssl_certificate_key /etc/ssl/private/chat.example.org.key;",
                      "ssl_certificate_key %s;" % key)
    return substitute(text, "include %s;" % INSTALLED_INSTANCES, "include %s;" % instances_file)


def render_instances(text, ports):
    """The instances file with its example line repeated for each port."""
    example = "server 127.0.0.1:8080 max_fails=1 fail_timeout=10s;\n"
    substitute(text, example, "", INSTANCES)
    servers = "".join(example.replace(":8080", ":%d" % port) for port in ports)
    lines = [line for line in text.splitlines(keepends=True) if line.startswith("#")]
    return "".join(lines) + servers


def main_config(prefix, site):
    """The http{} frame that Debian's /etc/nginx/nginx.conf gives a site, with
    every path inside the test's own prefix. One process, no privilege
    switch: the test may run as root or not."""
    return """daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    # Which instance answered each request, for the tests of the routing.
    log_format backtalk_routing '$request_uri $status $upstream_addr';
    access_log {prefix}/access.log backtalk_routing;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
""".format(prefix=prefix, site=site)


class Nginx:
    """The site in front of backtalk instances on `upstream_ports`, on two
    loopback ports of its own (http_port, https_port) with a self-signed
    certificate for SITE_NAME. stop() ends it gracefully."""

    def __init__(self, prefix, upstream_ports):
        self.prefix = prefix
        self.process = None
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.cert = os.path.join(prefix, "cert.pem")
        key = os.path.join(prefix, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", self.cert, "-days", "2", "-subj", "/CN=" + SITE_NAME,
                        "-addext", "subjectAltName=DNS:" + SITE_NAME],
                       check=True, capture_output=True, timeout=60)
        instances_path = os.path.join(prefix, "backtalk-instances.conf")
        with open(INSTANCES) as instances, open(instances_path, "w") as out:
            out.write(render_instances(instances.read(), upstream_ports))
        self.http_port = support.free_port()
        self.https_port = support.free_port()
        site_path = os.path.join(prefix, "backtalk.conf")
        with open(SITE) as site, open(site_path, "w") as out:
            out.write(render_site(site.read(), self.http_port, self.https_port, instances_path, self.cert, key))
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as out:
            out.write(main_config(prefix, site_path))
        command = [self.binary, "-p", prefix, "-c", conf, "-e", self.error_log_path()]
        check = subprocess.run(command + ["-t"], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise AssertionError("nginx -t refused the site:\n" + check.stderr)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        support.wait_for_port(self.https_port)
        support.wait_for_port(self.http_port)
        self.tls = support.tls_client_context(self.cert)

    def error_log_path(self):
        return os.path.join(self.prefix, "error.log")

    def error_log(self):
        with open(self.error_log_path(), errors="replace") as log:
            return log.read()

    def routed(self):
        """[(request URI, status, the upstream port that answered or None)]
        of every request so far, in order; a request nginx passed on after
        an instance failed names the instance that answered last."""
        entries = []
        with open(os.path.join(self.prefix, "access.log"), errors="replace") as log:
            for line in log:
                uri, status, upstreams = line.rstrip("\n").split(" ", 2)
                last = upstreams.split(",")[-1].strip()
                entries.append((uri, int(status), int(last.rsplit(":", 1)[1]) if last != "-" else None))
        return entries

    def websocket(self, path="/ws"):
        return support.WebSocket(self.https_port, SITE_NAME, path=path, origin=ORIGIN, tls_context=self.tls,
                                 server_name=SITE_NAME)

    def request(self, method, path, body=b"", source_address=None):
        return support.http_request(self.https_port, method, path, SITE_NAME, body=body, tls_context=self.tls,
                                    server_name=SITE_NAME, source_address=source_address)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finishes open requests
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
