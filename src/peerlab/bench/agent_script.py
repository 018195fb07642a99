"""The benchmark's agent: a Python program (standard library only) that runs on a load
balancer, as root, and answers one-line commands on its standard input.

It holds one runtime API connection open in interactive ("prompt") mode, so a
question costs a round trip on a local UNIX socket (tens of microseconds)
instead of an SSH command (milliseconds): fine enough to see a replicated
entry arrive. Its clock is ``CLOCK_MONOTONIC``, which containers share with
the machine that runs them, so its timestamps compare with the host's
(``peerlab.bench.agent`` checks that before trusting them).

Commands (answers on one line; ``error <text>`` when a command fails):
    clock                   -> clock <ns>
    watch <key> <ms> <us>   -> armed, then seen <ns> <polls> | missed <polls>
                               (polls every <us> microseconds for <ms> at most)
    used                    -> used <entries>
    clear                   -> cleared
    fill <first> <count>    -> filled <seconds>
    wait-used <n> <s>       -> used <entries> | error ...
    restart <n> <s>         -> resynced <seconds> <entries> | error ...
    reload <n> <s>          -> handed-over <seconds> <entries> | error ...
                               (a new worker alone, holding n entries)
    rss                     -> rss <kib> <pid>
    quit
"""

SCRIPT = r"""
import os, re, socket, subprocess, sys, time

SOCKET, MASTER, TABLE, SECTION = sys.argv[1:5]
PROMPT = b"\n> "
BATCH = 2000
USED = re.compile(r"# table: ([^,]+),.*\bused:(\d+)")
FLAGS = re.compile(r"^0x[0-9a-f]+: \[[^\]]*\] .*\bid=(\S+) .*\bflags=0x([0-9a-f]+)")


class Cli:
    def __init__(self):
        self.sock = None

    def connect(self):
        self.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(SOCKET)
        self.sock = sock
        self.sock.sendall(b"prompt\n")
        self._read_prompts(1)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _read_prompts(self, count):
        data = b""
        while data.count(PROMPT) < count:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise OSError("runtime API closed the connection")
            data += chunk
        return data

    def ask(self, command):
        if self.sock is None:
            self.connect()
        try:
            self.sock.sendall(command.encode() + b"\n")
            return self._read_prompts(1).decode(errors="replace")
        except OSError:
            self.close()
            raise

    def pipeline(self, commands):
        self.sock.sendall(("\n".join(commands) + "\n").encode())
        self._read_prompts(len(commands))


cli = Cli()


def used():
    for match in USED.finditer(cli.ask("show table")):
        if match.group(1) == TABLE:
            return int(match.group(2))
    raise RuntimeError("no table " + TABLE)


def resync_done():
    for line in cli.ask("show peers").splitlines():
        match = FLAGS.match(line.strip())
        if match and match.group(1) == SECTION:
            return int(match.group(2), 16) & 3 == 3
    return False


def master_connection():
    # The master re-executes itself once its worker runs (after a start and
    # after each reload): its socket refuses connections for that moment.
    deadline = time.monotonic() + 10
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(MASTER)
            return sock
        except (ConnectionRefusedError, FileNotFoundError):
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def workers():
    # (current workers, old workers) as the master CLI lists them.
    sock = master_connection()
    sock.sendall(b"show proc\n")
    sock.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    found, heading = {"workers": [], "old workers": []}, None
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif heading in found and line.split() and line.split()[0].isdigit():
            found[heading].append(int(line.split()[0]))
    return found["workers"], found["old workers"]


def worker_rss():
    current, old = workers()
    if len(current) != 1 or old:
        raise RuntimeError("expected one worker alone, found %s and old %s" % (current, old))
    with open("/proc/%d/status" % current[0]) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]), current[0]
    raise RuntimeError("no VmRSS")


def until(condition, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return True
        except (OSError, RuntimeError):
            cli.close()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)


def handle(words):
    command = words[0]
    if command == "clock":
        return "clock %d" % time.monotonic_ns()
    if command == "watch":
        key, limit = words[1], time.monotonic_ns() + int(words[2]) * 1000000
        pause = int(words[3]) / 1e6
        question = "show table %s key %s" % (TABLE, key)
        cli.ask("show table %s key -" % TABLE)
        print("armed", flush=True)
        polls = 0
        while True:
            polls += 1
            answer = cli.ask(question)
            now = time.monotonic_ns()
            if "key=" in answer:
                return "seen %d %d" % (now, polls)
            if now > limit:
                return "missed %d" % polls
            time.sleep(pause)
    if command == "used":
        return "used %d" % used()
    if command == "clear":
        cli.ask("clear table " + TABLE)
        return "cleared"
    if command == "fill":
        first, count = int(words[1]), int(words[2])
        started = time.monotonic()
        cli.ask("show table %s key -" % TABLE)
        for start in range(first, first + count, BATCH):
            stop = min(start + BATCH, first + count)
            cli.pipeline(["set table %s key %032x data.server_id 1" % (TABLE, i)
                          for i in range(start, stop)])
        return "filled %.3f" % (time.monotonic() - started)
    if command == "wait-used":
        wanted, seconds = int(words[1]), float(words[2])
        if until(lambda: used() >= wanted, seconds):
            return "used %d" % used()
        return "error %d entries after %gs, wanted %d" % (used(), seconds, wanted)
    if command == "restart":
        wanted, seconds = int(words[1]), float(words[2])
        cli.close()
        started = time.monotonic()
        # Restarts in a row would hit systemd's start rate limit (5 in 10 s).
        subprocess.run(["systemctl", "reset-failed", "haproxy"], check=False)
        subprocess.run(["systemctl", "restart", "haproxy"], check=True)
        if until(lambda: used() >= wanted and resync_done(), seconds):
            return "resynced %.4f %d" % (time.monotonic() - started, used())
        return "error not resynced within %gs" % seconds
    if command == "reload":
        wanted, seconds = int(words[1]), float(words[2])
        old = worker_rss()[1]
        cli.close()
        started = time.monotonic()
        subprocess.run(["systemctl", "reload", "haproxy"], check=True)

        def handed_over():
            # worker_rss() refuses while the old worker still runs beside the new one.
            return worker_rss()[1] != old and used() >= wanted and resync_done()

        if until(handed_over, seconds):
            return "handed-over %.4f %d" % (time.monotonic() - started, used())
        return "error no handover within %gs" % seconds
    if command == "rss":
        kib, pid = worker_rss()
        return "rss %d %d" % (kib, pid)
    raise RuntimeError("unknown command " + command)


print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "quit":
        break
    try:
        print(handle(words), flush=True)
    except Exception as error:
        cli.close()
        print("error %s: %s" % (type(error).__name__, error), flush=True)
"""
