/* pad.c: /bin/pad<MB> of the scale initramfs, built with -DPAD_MB=1/10/50:
 * a static program whose file holds PAD_MB MiB of initialised data (never
 * touched) and whose main returns 0 (exec_size.c executes it). */
#ifndef PAD_MB
#define PAD_MB 1
#endif
volatile char pad[(unsigned long)PAD_MB << 20] = {1};

int main(void) {
    return pad[0] - 1;
}
