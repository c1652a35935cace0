# glibc's ld.so: which glibc-hwcaps subdirectories it supports and searches
# (x86-64-v3 needs AVX2 usable: CPUID's AVX/AVX2 and the kernel's XSAVE
# enabling YMM state in XCR0)
/lib64/ld-linux-x86-64.so.2 --help | grep 'x86-64-v' | sed 's/^ *//'
