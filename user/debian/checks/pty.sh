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
# packet mode and TIOCSTI from Python: the status byte in front of the
# master's reads, a flush of the slave's input, a byte pushed into it
python3 -c 'import os, fcntl, termios, struct
m, s = os.openpty()
fcntl.ioctl(m, termios.TIOCPKT, struct.pack("i", 1))
os.write(s, b"x")
print(os.read(m, 10))
termios.tcflush(s, termios.TCIFLUSH)
print(os.read(m, 10))
for c in b"y\n":
    fcntl.ioctl(s, termios.TIOCSTI, bytes([c]))
print(os.read(s, 10))'
