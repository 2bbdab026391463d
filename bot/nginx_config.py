"""The nginx configuration of the scaled setup: one public port in front of the gateway replicas (WebSockets
included), and one loopback port in front of the action servers for the Rasa processes.

nginx runs in the foreground as a child of `make run-scaled` (bot/run_scaled.py), with every file it writes
inside the run's own folder, so it needs neither root nor the system's /etc/nginx.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

from core.settings import SettingsError

# where Debian's nginx package puts the binary (root's PATH has /usr/sbin, other users' may not)
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/bin/nginx")


def nginx_binary() -> str:
    """The nginx program; a clear error naming the install command when there is none."""
    found = shutil.which("nginx") or next((p for p in NGINX_PLACES if os.access(p, os.X_OK)), None)
    if not found:
        raise SettingsError("nginx is not installed: run `make nginx` (Debian's package; make run-scaled does it)")
    return found


def _servers(ports: Sequence[int]) -> str:
    # a replica that refuses or times out is passed over for 3 s; its requests go to the others
    return "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in ports)


def nginx_conf(folder: Path, public_host: str, public_port: int, gateway_ports: Sequence[int],
               actions_port: int, action_server_ports: Sequence[int]) -> str:
    """The configuration text; every path nginx writes is inside `folder`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = {name: folder / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    return f"""{user}worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'nginx-error.log'} warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {temp['client_body']};
  proxy_temp_path {temp['proxy']};
  fastcgi_temp_path {temp['fastcgi']};
  uwsgi_temp_path {temp['uwsgi']};
  scgi_temp_path {temp['scgi']};
  client_max_body_size 1m;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}

  upstream gateways {{
    least_conn;
{_servers(gateway_ports)}
    keepalive 64;
  }}
  upstream action_servers {{
{_servers(action_server_ports)}
    keepalive 64;
  }}

  # customers, agents and supervisors
  server {{
    listen {public_host}:{public_port};
    # the operator's figures: from this machine only
    location = /metrics {{
      allow 127.0.0.1;
      allow ::1;
      deny all;
      proxy_pass http://gateways;
    }}
    location / {{
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      # host:port as the browser wrote it: the gateway compares it with the page's Origin
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # chat sockets and long polls stay open; the gateway's heartbeat keeps them alive
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      # unbuffered both ways: nginx passes each write on at once, with TCP_NODELAY (buffered, a request's
      # header and body went upstream as two writes that waited for a delayed ACK: 40 ms a request)
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_next_upstream error timeout http_502 http_503;
    }}
  }}

  # the action servers, for the Rasa processes
  server {{
    listen 127.0.0.1:{actions_port};
    location / {{
      proxy_pass http://action_servers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 60s;
      proxy_buffering off;
      proxy_request_buffering off;
      # a refused connection means the action never ran: the next action server runs it
      proxy_next_upstream error;
    }}
  }}
}}
"""


def write_nginx_conf(folder: Path, public_host: str, public_port: int, gateway_ports: Sequence[int],
                     actions_port: int, action_server_ports: Sequence[int]) -> Path:
    """Writes nginx.conf into `folder`; returns its path."""
    path = folder / "nginx.conf"
    path.write_text(nginx_conf(folder, public_host, public_port, gateway_ports, actions_port, action_server_ports),
                    encoding="utf-8")
    return path
