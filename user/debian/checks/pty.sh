# pseudo-terminals: Python's pty.fork (forkpty: openpty, setsid, TIOCSCTTY)
# and script(1) run a command on /dev/pts/N and read its output
python3 -c 'import os, pty
pid, fd = pty.fork()
if pid == 0:
    os.execlp("sh", "sh", "-c", "tty; stty size; echo pty-ok")
out = b""
while True:
    try:
        b = os.read(fd, 1024)
    except OSError:
        break
    if not b:
        break
    out += b
_, status = os.waitpid(pid, 0)
print(out.decode().replace("\r\n", "|"), status)'
script -qc 'tty; echo script-ok' /dev/null </dev/null
