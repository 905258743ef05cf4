"""A server killed outright (SIGKILL, live connections open) starts again at once on the same
port and data directory: neither the port's lingering connections, nor the stale ZEO socket,
nor the store's lock file stop it."""
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from test_cli import ROOT, cli, free_port, pserve_shipped_ini, wait_for

pytestmark = pytest.mark.slow


def open_connections(port):
    """One connection that was answered and stays open (keep-alive), one whose request is
    half sent: the server holds both when it is killed."""
    answered = socket.create_connection(("127.0.0.1", port), timeout=10)
    answered.sendall(b"GET /@@login HTTP/1.1\r\nHost: registry.test\r\n\r\n")
    assert answered.recv(12) == b"HTTP/1.1 200"
    pending = socket.create_connection(("127.0.0.1", port), timeout=10)
    pending.sendall(b"GET /@@login HTTP/1.1\r\nHost: regi")
    time.sleep(0.3)
    return [answered, pending]


def kill_and_restart(start, port):
    """Kill the server started by `start()` with live connections, start it again within a
    second, and return the new process once it answers."""
    first = start()
    try:
        wait_for(port)
        connections = open_connections(port)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        killed_at = time.monotonic()
        for connection in connections:
            connection.close()
        states = subprocess.run(["ss", "-tan", f"sport = :{port}"], capture_output=True,
                                text=True).stdout
        assert "TIME-WAIT" in states  # what made the restart fail for a minute
        second = start()
        assert time.monotonic() - killed_at < 1
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    try:
        wait_for(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/@@login", timeout=10) as response:
            assert response.status == 200
    except BaseException:
        second.kill()
        raise AssertionError(second.communicate()[0])
    return second


def stop(server, returncode=0):
    server.send_signal(signal.SIGTERM)
    output = server.communicate(timeout=30)[0]
    assert server.returncode == returncode, output


def test_registry_serve_starts_again_at_once_after_a_kill(tmp_path):
    data_dir = tmp_path / "var"
    assert cli(data_dir, "init").returncode == 0
    port = free_port()

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "registry.cli", "--data-dir", str(data_dir), "serve",
             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)

    server = kill_and_restart(start, port)
    try:
        # The new server serves the store over ZEO again: a command works meanwhile.
        added = cli(data_dir, "org", "add", "--regno", "1000001", "--name", "Дахин", "--kind",
                    "government")
        assert added.returncode == 0, added.stderr
    finally:
        stop(server)


def test_a_second_server_on_a_live_port_is_still_refused(tmp_path):
    data_dir = tmp_path / "var"
    assert cli(data_dir, "init").returncode == 0
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        refused = cli(data_dir, "serve", "--port", str(port))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"Error: cannot listen on 127.0.0.1:{port}: "
                                      "Address already in use")


def test_pserve_with_the_shipped_ini_starts_again_at_once_after_a_kill(tmp_path):
    data_dir = tmp_path / "var"
    port = free_port()
    server = kill_and_restart(lambda: pserve_shipped_ini(tmp_path, data_dir, port), port)
    try:
        assert cli(data_dir, "org", "list").returncode == 0
    finally:
        stop(server, returncode=-signal.SIGTERM)  # pserve does not catch SIGTERM
