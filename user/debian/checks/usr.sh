# find and grep -r over /usr (xtask counts the same in the image it packed)
echo "files $(find /usr -type f | wc -l)"
echo "links $(find /usr -type l | wc -l)"
echo "dirs $(find /usr -type d | wc -l)"
echo "grep $(grep -rx 'import threading' /usr/lib/python3.11 | wc -l)"
