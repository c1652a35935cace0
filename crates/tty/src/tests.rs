//! N_TTY input tests: each asserts what read(2) gets, what is echoed and
//! which signal is raised, as Linux 6.1's n_tty does it.

use super::*;
use crate::testing::EchoBuf;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

fn tty() -> NTty {
    NTty::new()
}

/// Feeds `bytes`; returns the echo and the signals raised.
fn feed(t: &mut NTty, bytes: &[u8]) -> (Vec<u8>, Vec<TtySignal>) {
    let mut e = EchoBuf::default();
    let mut sigs = Vec::new();
    for &b in bytes {
        if let Some(s) = t.input(b, &mut e) {
            sigs.push(s);
        }
    }
    (e.0, sigs)
}

/// One read of up to `n` bytes: `None` when it would block.
fn read(t: &mut NTty, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    t.take(&mut buf).map(|k| buf[..k].to_vec())
}

fn set_u32(t: &mut NTty, at: usize, v: u32) {
    let mut b = t.termios();
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    t.set_termios(&b, &mut EchoBuf::default());
}

fn set_iflag(t: &mut NTty, v: u32) {
    set_u32(t, 0, v);
}

fn set_lflag(t: &mut NTty, v: u32) {
    set_u32(t, 12, v);
}

fn set_cc(t: &mut NTty, i: usize, v: u8) {
    let mut b = t.termios();
    b[17 + i] = v;
    t.set_termios(&b, &mut EchoBuf::default());
}

const DEFAULT_L: u32 = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;

#[test]
fn default_termios_matches_linux() {
    let t = tty();
    assert_eq!(t.iflag(), ICRNL | 0o2000);
    assert_eq!(t.lflag(), DEFAULT_L);
    let b = t.termios();
    assert_eq!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]), 0o5);
    assert_eq!(u32::from_le_bytes([b[8], b[9], b[10], b[11]]), 0o2277);
    assert_eq!(b[16], 0, "c_line N_TTY");
    assert_eq!(
        [t.cc(VINTR), t.cc(VQUIT), t.cc(VERASE), t.cc(VKILL), t.cc(VEOF), t.cc(VTIME), t.cc(VMIN)],
        [3, 28, 127, 21, 4, 0, 1]
    );
    assert_eq!([t.cc(VSUSP), t.cc(VWERASE), t.cc(VLNEXT), t.cc(VEOL), t.cc(VEOL2)], [26, 23, 22, 0, 0]);
}

#[test]
fn canonical_line_is_not_readable_before_newline() {
    let mut t = tty();
    let (echo, sigs) = feed(&mut t, b"abc");
    assert_eq!(echo, b"abc");
    assert!(sigs.is_empty());
    assert_eq!(read(&mut t, 10), None);
    assert_eq!(t.available(), 0);
    assert!(!t.readable());
    assert_eq!(t.pending_line(), b"abc");
}

#[test]
fn icanon_off_makes_the_partial_line_readable() {
    let mut t = tty();
    feed(&mut t, b"ab\ncd");
    let mut raw = t.termios();
    raw[12] &= !(ICANON as u8);
    t.set_termios(&raw, &mut EchoBuf::default());
    assert!(t.readable());
    assert_eq!(t.available(), 5);
    assert_eq!(t.pending_line(), b"");
    // a reader asleep since before the switch (canonical mode) is ready
    assert!(t.read_ready(&ReadMode { canon: true, want: 1, timeout_ns: None, poll_only: false }));
    // raw now: the line end no longer splits the read
    assert_eq!(read(&mut t, 10), Some(b"ab\ncd".to_vec()));
    assert_eq!(read(&mut t, 10), None);
    // and what is typed next is readable at once
    feed(&mut t, b"x");
    assert_eq!(read(&mut t, 10), Some(b"x".to_vec()));
}

#[test]
fn canonical_read_gets_the_line_with_newline() {
    let mut t = tty();
    feed(&mut t, b"abc\n");
    assert_eq!(t.available(), 4);
    assert_eq!(read(&mut t, 10), Some(b"abc\n".to_vec()));
    assert_eq!(read(&mut t, 10), None);
}

#[test]
fn canonical_read_stops_at_the_first_line_end() {
    let mut t = tty();
    feed(&mut t, b"one\ntwo\n");
    assert_eq!(read(&mut t, 100), Some(b"one\n".to_vec()));
    assert_eq!(read(&mut t, 100), Some(b"two\n".to_vec()));
}

#[test]
fn canonical_short_buffer_reads_the_line_in_pieces() {
    let mut t = tty();
    feed(&mut t, b"hello\n");
    assert_eq!(read(&mut t, 2), Some(b"he".to_vec()));
    assert_eq!(read(&mut t, 2), Some(b"ll".to_vec()));
    assert_eq!(read(&mut t, 10), Some(b"o\n".to_vec()));
}

#[test]
fn icrnl_maps_cr_to_nl() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"x\r");
    assert_eq!(echo, b"x\n");
    assert_eq!(read(&mut t, 10), Some(b"x\n".to_vec()));
}

#[test]
fn without_icrnl_cr_is_an_ordinary_character() {
    let mut t = tty();
    set_iflag(&mut t, 0);
    let (echo, _) = feed(&mut t, b"x\r");
    assert_eq!(echo, b"x^M");
    assert_eq!(read(&mut t, 10), None);
    feed(&mut t, b"\n");
    assert_eq!(read(&mut t, 10), Some(b"x\r\n".to_vec()));
}

#[test]
fn igncr_drops_cr_before_icrnl() {
    let mut t = tty();
    set_iflag(&mut t, IGNCR | ICRNL);
    let (echo, _) = feed(&mut t, b"a\rb\n");
    assert_eq!(echo, b"ab\n");
    assert_eq!(read(&mut t, 10), Some(b"ab\n".to_vec()));
}

#[test]
fn inlcr_maps_nl_to_cr() {
    let mut t = tty();
    set_iflag(&mut t, INLCR);
    set_lflag(&mut t, 0);
    feed(&mut t, b"a\n");
    assert_eq!(read(&mut t, 10), Some(b"a\r".to_vec()));
}

#[test]
fn inlcr_and_icrnl_swap_in_raw_mode() {
    let mut t = tty();
    set_iflag(&mut t, INLCR | ICRNL);
    set_lflag(&mut t, 0);
    feed(&mut t, b"\r\n");
    assert_eq!(read(&mut t, 10), Some(b"\n\r".to_vec()));
}

#[test]
fn istrip_clears_the_eighth_bit() {
    let mut t = tty();
    set_iflag(&mut t, ISTRIP);
    set_lflag(&mut t, 0);
    feed(&mut t, &[0xc1, 0x83]);
    assert_eq!(read(&mut t, 10), Some(vec![0x41, 0x03]));
}

#[test]
fn without_istrip_high_bytes_pass() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    feed(&mut t, &[0xc1, 0xff]);
    assert_eq!(read(&mut t, 10), Some(vec![0xc1, 0xff]));
}

#[test]
fn verase_removes_the_last_character_visibly() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"ab\x7f\n");
    assert_eq!(echo, b"ab\x08 \x08\n");
    assert_eq!(read(&mut t, 10), Some(b"a\n".to_vec()));
}

#[test]
fn verase_on_an_empty_line_does_nothing() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\x7f\x7fz\n");
    assert_eq!(echo, b"z\n");
    assert_eq!(read(&mut t, 10), Some(b"z\n".to_vec()));
}

#[test]
fn verase_of_a_control_character_erases_two_columns() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\x01\x7f");
    assert_eq!(echo, b"^A\x08 \x08\x08 \x08");
    assert!(t.pending_line().is_empty());
}

#[test]
fn verase_of_a_tab_erases_one_column() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\t\x7f");
    assert_eq!(echo, b"\t\x08 \x08");
}

#[test]
fn verase_without_echoe_erases_silently() {
    let mut t = tty();
    set_lflag(&mut t, DEFAULT_L & !ECHOE);
    let (echo, _) = feed(&mut t, b"ab\x7f");
    assert_eq!(echo, b"ab");
    assert_eq!(t.pending_line(), b"a");
}

#[test]
fn verase_does_not_cross_a_finished_line() {
    let mut t = tty();
    feed(&mut t, b"ab\n\x7f\x7fc\n");
    assert_eq!(read(&mut t, 10), Some(b"ab\n".to_vec()));
    assert_eq!(read(&mut t, 10), Some(b"c\n".to_vec()));
}

#[test]
fn verase_character_can_be_changed() {
    let mut t = tty();
    set_cc(&mut t, VERASE, 8);
    feed(&mut t, b"ab\x08\x7f\n");
    // DEL is now an ordinary character
    assert_eq!(read(&mut t, 10), Some(b"a\x7f\n".to_vec()));
}

#[test]
fn disabled_verase_is_ordinary() {
    let mut t = tty();
    set_cc(&mut t, VERASE, 0);
    feed(&mut t, b"a\x7f\n");
    assert_eq!(read(&mut t, 10), Some(b"a\x7f\n".to_vec()));
}

#[test]
fn vwerase_removes_the_last_word_and_trailing_blanks() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"cat foo  \x17");
    assert_eq!(t.pending_line(), b"cat ");
    assert!(echo.ends_with(b"\x08 \x08\x08 \x08\x08 \x08\x08 \x08\x08 \x08"));
    feed(&mut t, b"bar\n");
    assert_eq!(read(&mut t, 20), Some(b"cat bar\n".to_vec()));
}

#[test]
fn vwerase_needs_iexten() {
    let mut t = tty();
    set_lflag(&mut t, DEFAULT_L & !IEXTEN);
    feed(&mut t, b"a b\x17\n");
    assert_eq!(read(&mut t, 10), Some(b"a b\x17\n".to_vec()));
}

#[test]
fn vwerase_on_blanks_only_clears_them() {
    let mut t = tty();
    feed(&mut t, b"   \x17");
    assert!(t.pending_line().is_empty());
}

#[test]
fn vkill_with_echoke_erases_the_line_visibly() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"ab\x15");
    assert_eq!(echo, b"ab\x08 \x08\x08 \x08");
    assert!(t.pending_line().is_empty());
    feed(&mut t, b"c\n");
    assert_eq!(read(&mut t, 10), Some(b"c\n".to_vec()));
}

#[test]
fn vkill_with_echok_echoes_kill_and_newline() {
    let mut t = tty();
    set_lflag(&mut t, ISIG | ICANON | ECHO | ECHOK | ECHOCTL);
    let (echo, _) = feed(&mut t, b"ab\x15");
    assert_eq!(echo, b"ab^U\n");
    assert!(t.pending_line().is_empty());
}

#[test]
fn vkill_without_echok_or_echoke_is_silent() {
    let mut t = tty();
    set_lflag(&mut t, ISIG | ICANON | ECHO);
    let (echo, _) = feed(&mut t, b"ab\x15");
    assert_eq!(echo, b"ab");
    assert!(t.pending_line().is_empty());
}

#[test]
fn veof_on_an_empty_line_reads_zero_once() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\x04");
    assert_eq!(echo, b"", "^D is not echoed");
    assert!(t.readable());
    assert_eq!(t.available(), 0);
    assert_eq!(read(&mut t, 10), Some(vec![]));
    assert_eq!(read(&mut t, 10), None);
}

#[test]
fn veof_after_text_hands_the_line_over_without_it() {
    let mut t = tty();
    feed(&mut t, b"abc\x04");
    assert_eq!(read(&mut t, 10), Some(b"abc".to_vec()));
    assert_eq!(read(&mut t, 10), None);
}

#[test]
fn veof_twice_after_text_gives_data_then_eof() {
    let mut t = tty();
    feed(&mut t, b"ab\x04\x04");
    assert_eq!(read(&mut t, 10), Some(b"ab".to_vec()));
    assert_eq!(read(&mut t, 10), Some(vec![]));
}

#[test]
fn raw_read_stops_before_an_eof_mark() {
    let mut t = tty();
    feed(&mut t, b"a\n\x04b\n");
    assert_eq!(read(&mut t, 10), Some(b"a\n".to_vec()));
    assert_eq!(read(&mut t, 10), Some(vec![]));
    assert_eq!(read(&mut t, 10), Some(b"b\n".to_vec()));
}

#[test]
fn veol_ends_a_line() {
    let mut t = tty();
    set_cc(&mut t, VEOL, b';');
    let (echo, _) = feed(&mut t, b"ls;pwd;");
    assert_eq!(echo, b"ls;pwd;");
    assert_eq!(read(&mut t, 10), Some(b"ls;".to_vec()));
    assert_eq!(read(&mut t, 10), Some(b"pwd;".to_vec()));
}

#[test]
fn veol2_ends_a_line() {
    let mut t = tty();
    set_cc(&mut t, VEOL2, b'#');
    feed(&mut t, b"x#y");
    assert_eq!(read(&mut t, 10), Some(b"x#".to_vec()));
    assert_eq!(read(&mut t, 10), None);
}

#[test]
fn echonl_echoes_newline_without_echo() {
    let mut t = tty();
    set_lflag(&mut t, ICANON | ECHONL);
    let (echo, _) = feed(&mut t, b"secret\n");
    assert_eq!(echo, b"\n");
    assert_eq!(read(&mut t, 10), Some(b"secret\n".to_vec()));
}

#[test]
fn no_echo_echoes_nothing() {
    let mut t = tty();
    set_lflag(&mut t, ICANON | ISIG);
    let (echo, sigs) = feed(&mut t, b"pw\x7f\n\x03");
    assert_eq!(echo, b"");
    assert_eq!(sigs, vec![TtySignal::Int]);
}

#[test]
fn echoctl_off_echoes_control_characters_raw() {
    let mut t = tty();
    set_lflag(&mut t, ICANON | ECHO);
    let (echo, _) = feed(&mut t, b"\x01\x1b\n");
    assert_eq!(echo, b"\x01\x1b\n");
}

#[test]
fn echoctl_shows_escape_as_caret_bracket() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\x1b");
    assert_eq!(echo, b"^[");
}

#[test]
fn vintr_raises_sigint_echoes_and_flushes() {
    let mut t = tty();
    feed(&mut t, b"done\n");
    let (echo, sigs) = feed(&mut t, b"partial\x03");
    assert_eq!(sigs, vec![TtySignal::Int]);
    assert!(echo.ends_with(b"^C"));
    assert_eq!(read(&mut t, 10), None, "both the line and the ready input are flushed");
    assert!(t.pending_line().is_empty());
}

#[test]
fn vquit_raises_sigquit() {
    let mut t = tty();
    let (echo, sigs) = feed(&mut t, b"\x1c");
    assert_eq!(sigs, vec![TtySignal::Quit]);
    assert_eq!(echo, b"^\\");
}

#[test]
fn vsusp_raises_sigtstp() {
    let mut t = tty();
    let (echo, sigs) = feed(&mut t, b"\x1a");
    assert_eq!(sigs, vec![TtySignal::Tstp]);
    assert_eq!(echo, b"^Z");
}

#[test]
fn signal_numbers_are_linux_x86_64() {
    assert_eq!(TtySignal::Int.number(), 2);
    assert_eq!(TtySignal::Quit.number(), 3);
    assert_eq!(TtySignal::Tstp.number(), 20);
}

#[test]
fn noflsh_keeps_input_at_a_signal() {
    let mut t = tty();
    set_lflag(&mut t, DEFAULT_L | NOFLSH);
    feed(&mut t, b"keep\n");
    let (_, sigs) = feed(&mut t, b"li\x03ne\n");
    assert_eq!(sigs, vec![TtySignal::Int]);
    assert_eq!(read(&mut t, 10), Some(b"keep\n".to_vec()));
    assert_eq!(read(&mut t, 10), Some(b"line\n".to_vec()));
}

#[test]
fn without_isig_signal_characters_are_data() {
    let mut t = tty();
    set_lflag(&mut t, ICANON);
    let (_, sigs) = feed(&mut t, b"\x03\x1c\x1a\n");
    assert!(sigs.is_empty());
    assert_eq!(read(&mut t, 10), Some(b"\x03\x1c\x1a\n".to_vec()));
}

#[test]
fn isig_works_in_raw_mode() {
    let mut t = tty();
    set_lflag(&mut t, ISIG);
    feed(&mut t, b"ab");
    let (echo, sigs) = feed(&mut t, b"\x03");
    assert_eq!(sigs, vec![TtySignal::Int]);
    assert_eq!(echo, b"");
    assert_eq!(read(&mut t, 10), None);
}

#[test]
fn disabled_vintr_raises_nothing() {
    let mut t = tty();
    set_cc(&mut t, VINTR, 0);
    let (_, sigs) = feed(&mut t, b"\x03\n");
    assert!(sigs.is_empty());
    assert_eq!(read(&mut t, 10), Some(b"\x03\n".to_vec()));
}

#[test]
fn a_nul_byte_is_data_not_a_disabled_character() {
    let mut t = tty();
    set_cc(&mut t, VQUIT, 0);
    let (_, sigs) = feed(&mut t, b"\0\n");
    assert!(sigs.is_empty());
    assert_eq!(read(&mut t, 10), Some(b"\0\n".to_vec()));
}

#[test]
fn vlnext_makes_the_next_character_literal() {
    let mut t = tty();
    let (echo, sigs) = feed(&mut t, b"a\x16\x03b\n");
    assert!(sigs.is_empty());
    assert_eq!(echo, b"a^\x08^Cb\n");
    assert_eq!(read(&mut t, 10), Some(b"a\x03b\n".to_vec()));
}

#[test]
fn vlnext_newline_does_not_end_the_line() {
    let mut t = tty();
    feed(&mut t, b"a\x16\nb");
    assert_eq!(read(&mut t, 10), None);
    feed(&mut t, b"\n");
    assert_eq!(read(&mut t, 10), Some(b"a\nb\n".to_vec()));
}

#[test]
fn vlnext_cr_is_not_mapped() {
    let mut t = tty();
    feed(&mut t, b"\x16\r\n");
    assert_eq!(read(&mut t, 10), Some(b"\r\n".to_vec()));
}

#[test]
fn vlnext_erase_is_literal_and_erasable() {
    let mut t = tty();
    feed(&mut t, b"x\x16\x7f");
    assert_eq!(t.pending_line(), b"x\x7f");
    feed(&mut t, b"\x7f\n");
    assert_eq!(read(&mut t, 10), Some(b"x\n".to_vec()));
}

#[test]
fn vlnext_needs_iexten() {
    let mut t = tty();
    set_lflag(&mut t, DEFAULT_L & !IEXTEN);
    feed(&mut t, b"\x16\x03");
    assert_eq!(read(&mut t, 10), None, "^C flushed the line");
    assert!(t.pending_line().is_empty());
}

#[test]
fn vlnext_without_echoctl_echoes_nothing_for_itself() {
    let mut t = tty();
    set_lflag(&mut t, ICANON | ECHO | IEXTEN);
    let (echo, _) = feed(&mut t, b"\x16\x04");
    assert_eq!(echo, b"\x04");
    assert_eq!(t.pending_line(), b"\x04");
}

#[test]
fn raw_mode_delivers_bytes_at_once() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    let (echo, _) = feed(&mut t, b"a\x7f\x15\x04");
    assert_eq!(echo, b"");
    assert_eq!(read(&mut t, 10), Some(b"a\x7f\x15\x04".to_vec()));
}

#[test]
fn raw_mode_echo_uses_echoctl() {
    let mut t = tty();
    set_lflag(&mut t, ECHO | ECHOCTL);
    let (echo, _) = feed(&mut t, b"q\x01");
    assert_eq!(echo, b"q^A");
}

#[test]
fn raw_mode_read_is_not_cut_at_newline() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    feed(&mut t, b"a\nb\n");
    assert_eq!(read(&mut t, 10), Some(b"a\nb\n".to_vec()));
}

#[test]
fn raw_mode_keeps_at_most_buf_size_bytes() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    let data = vec![b'x'; BUF_SIZE + 10];
    feed(&mut t, &data);
    assert_eq!(t.available(), BUF_SIZE);
}

#[test]
fn canonical_line_is_capped_but_newline_still_ends_it() {
    let mut t = tty();
    let data = vec![b'y'; BUF_SIZE + 100];
    feed(&mut t, &data);
    assert_eq!(t.pending_line().len(), BUF_SIZE - 1);
    feed(&mut t, b"\n");
    assert_eq!(t.available(), BUF_SIZE);
}

#[test]
fn put_back_restores_bytes_in_front() {
    let mut t = tty();
    feed(&mut t, b"abc\ndef\n");
    let got = read(&mut t, 10).unwrap();
    t.put_back(&got);
    assert_eq!(t.available(), 8);
    assert_eq!(read(&mut t, 10), Some(b"abc\n".to_vec()));
}

#[test]
fn flush_input_discards_everything() {
    let mut t = tty();
    feed(&mut t, b"ready\npart\x16");
    t.flush_input();
    assert_eq!(read(&mut t, 10), None);
    assert!(t.pending_line().is_empty());
    feed(&mut t, b"\x03");
    assert_eq!(read(&mut t, 10), None, "the pending VLNEXT went too");
}

#[test]
fn set_termios_short_slice_changes_a_prefix() {
    let mut t = tty();
    t.set_termios(&[0, 0, 0, 0], &mut EchoBuf::default());
    assert_eq!(t.iflag(), 0);
    assert_eq!(t.lflag(), DEFAULT_L);
    let mut long = [0u8; 50];
    long[12] = 0o2;
    t.set_termios(&long, &mut EchoBuf::default());
    assert_eq!(t.lflag(), ICANON);
    assert_eq!(t.termios(), long[..TERMIOS_SIZE]);
}

#[test]
fn read_mode_canonical() {
    let t = tty();
    assert_eq!(t.read_mode(100), ReadMode { canon: true, want: 1, timeout_ns: None, poll_only: false });
}

#[test]
fn read_mode_vmin_clamped_to_buffer() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    set_cc(&mut t, VMIN, 10);
    assert_eq!(t.read_mode(4).want, 4);
    assert_eq!(t.read_mode(40).want, 10);
    set_cc(&mut t, VMIN, 0);
    set_cc(&mut t, VTIME, 0);
    assert_eq!(t.read_mode(4), ReadMode { canon: false, want: 1, timeout_ns: None, poll_only: true });
}

#[test]
fn read_mode_vtime_is_a_timeout_in_tenths() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    set_cc(&mut t, VMIN, 5);
    set_cc(&mut t, VTIME, 3);
    assert_eq!(
        t.read_mode(100),
        ReadMode { canon: false, want: 1, timeout_ns: Some(300_000_000), poll_only: false }
    );
}

#[test]
fn raw_read_waits_for_vmin_bytes() {
    let mut t = tty();
    set_lflag(&mut t, 0);
    set_cc(&mut t, VMIN, 3);
    let mode = t.read_mode(10);
    let mut buf = [0u8; 10];
    feed(&mut t, b"ab");
    assert!(!t.read_ready(&mode));
    assert_eq!(t.try_read(&mode, &mut buf), None);
    feed(&mut t, b"c");
    assert!(t.read_ready(&mode));
    assert_eq!(t.try_read(&mode, &mut buf), Some(3));
    assert_eq!(&buf[..3], b"abc");
}

#[test]
fn canonical_try_read_sees_eof() {
    let mut t = tty();
    let mode = t.read_mode(10);
    assert!(!t.read_ready(&mode));
    feed(&mut t, b"\x04");
    assert!(t.read_ready(&mode));
    assert_eq!(t.try_read(&mode, &mut [0u8; 4]), Some(0));
}

fn jc(ctty: Option<u32>, fg: Option<u32>, ttin: bool, ign: bool, orph: bool) -> JobCheck {
    check_change(ctty, fg, 10, 20, ttin, || ign, || orph)
}

#[test]
fn jobctl_other_session_proceeds() {
    assert_eq!(jc(Some(11), Some(30), true, false, false), JobCheck::Proceed);
    assert_eq!(jc(None, None, true, false, false), JobCheck::Proceed);
}

#[test]
fn jobctl_foreground_or_no_foreground_proceeds() {
    assert_eq!(jc(Some(10), Some(20), true, false, false), JobCheck::Proceed);
    assert_eq!(jc(Some(10), None, true, false, false), JobCheck::Proceed);
}

#[test]
fn jobctl_background_is_signalled() {
    assert_eq!(jc(Some(10), Some(30), true, false, false), JobCheck::SignalGroup);
    assert_eq!(jc(Some(10), Some(30), false, false, false), JobCheck::SignalGroup);
}

#[test]
fn jobctl_ignored_sigttou_proceeds_ignored_sigttin_is_eio() {
    assert_eq!(jc(Some(10), Some(30), false, true, false), JobCheck::Proceed);
    assert_eq!(jc(Some(10), Some(30), true, true, false), JobCheck::Eio);
    assert_eq!(jc(Some(10), Some(30), false, true, true), JobCheck::Proceed, "ignoring wins over orphaned");
}

#[test]
fn jobctl_orphaned_background_is_eio() {
    assert_eq!(jc(Some(10), Some(30), true, false, true), JobCheck::Eio);
    assert_eq!(jc(Some(10), Some(30), false, false, true), JobCheck::Eio);
}

#[test]
fn jobctl_asks_only_what_it_needs() {
    let r = check_change(Some(10), Some(20), 10, 20, true, || panic!("not asked"), || panic!("not asked"));
    assert_eq!(r, JobCheck::Proceed);
    let r = check_change(Some(10), Some(30), 10, 20, false, || true, || panic!("not asked"));
    assert_eq!(r, JobCheck::Proceed);
}

proptest! {
    /// Raw mode without echo and input mapping passes bytes through
    /// unchanged and in order, whatever the read sizes.
    #[test]
    fn raw_mode_is_transparent(data in proptest::collection::vec(any::<u8>(), 0..600), chunk in 1usize..64) {
        let mut t = tty();
        set_iflag(&mut t, 0);
        set_lflag(&mut t, 0);
        let (echo, sigs) = feed(&mut t, &data);
        prop_assert!(echo.is_empty() && sigs.is_empty());
        let mut got = Vec::new();
        while let Some(v) = read(&mut t, chunk) {
            prop_assert!(!v.is_empty());
            got.extend(v);
        }
        prop_assert_eq!(got, data);
    }

    /// In canonical mode with printable text, each read returns one line
    /// exactly as typed.
    #[test]
    fn canonical_reads_return_lines(lines in proptest::collection::vec("[a-z ]{0,30}", 1..8)) {
        let mut t = tty();
        for l in &lines {
            let (echo, _) = feed(&mut t, l.as_bytes());
            prop_assert_eq!(echo, l.as_bytes());
            feed(&mut t, b"\r");
        }
        for l in &lines {
            let mut want = l.as_bytes().to_vec();
            want.push(b'\n');
            prop_assert_eq!(read(&mut t, 100), Some(want));
        }
        prop_assert_eq!(read(&mut t, 100), None);
    }

    /// Erasing as many characters as were typed leaves an empty line and
    /// echoes one `\b \b` per printable character.
    #[test]
    fn erase_undoes_typing(s in "[ -~]{0,40}") {
        let mut t = tty();
        let n = s.len();
        let mut input = s.as_bytes().to_vec();
        input.extend(core::iter::repeat_n(0x7f, n + 2));
        let (echo, _) = feed(&mut t, &input);
        prop_assert!(t.pending_line().is_empty());
        prop_assert_eq!(echo.len(), n + 3 * n);
    }

    /// Whatever the input, the ready input never holds more than BUF_SIZE
    /// bytes plus one line, and available() matches what reads drain.
    #[test]
    fn available_matches_drained(data in proptest::collection::vec(any::<u8>(), 0..300), lflag in any::<u32>()) {
        let mut t = tty();
        set_lflag(&mut t, lflag & (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHONL | NOFLSH | ECHOCTL | ECHOKE | IEXTEN));
        feed(&mut t, &data);
        let avail = t.available();
        let mut total = 0;
        let mut guard = 0;
        while let Some(v) = read(&mut t, 7) {
            total += v.len();
            guard += 1;
            prop_assert!(guard < 1000);
        }
        prop_assert_eq!(total, avail);
    }
}

// ----- XON/XOFF output flow control (IXON, IXANY, tcflow) ------------------

#[test]
fn stop_holds_echoes_and_writes_until_start() {
    let mut t = tty();
    // ^S: not input, not echoed; output stops
    let (echo, sigs) = feed(&mut t, b"\x13");
    assert!(echo.is_empty() && sigs.is_empty());
    assert!(t.output_stopped());
    let (echo, _) = feed(&mut t, b"ls\r");
    assert!(echo.is_empty(), "echo held while stopped: {echo:?}");
    // input still arrives: the line is readable
    assert_eq!(read(&mut t, 16).as_deref(), Some(&b"ls\n"[..]));
    let mut out = EchoBuf::default();
    assert_eq!(t.write(b"hello\n", &mut out), 6);
    assert!(out.0.is_empty());
    // ^Q: everything held goes out in order, and is not input either
    let (echo, _) = feed(&mut t, b"\x11");
    assert_eq!(echo, b"ls\nhello\n");
    assert!(!t.output_stopped());
    assert_eq!(read(&mut t, 16), None);
    assert_eq!(t.write(b"x", &mut out), 1);
    assert_eq!(out.0, b"x");
}

#[test]
fn held_output_is_bounded_and_polls_as_linux() {
    let mut t = tty();
    feed(&mut t, b"\x13");
    let mut out = EchoBuf::default();
    assert!(t.writable() && t.write_room());
    assert_eq!(t.write(&[b'a'; 300], &mut out), 300);
    // over WAKEUP_CHARS held: no POLLOUT, but a write still takes bytes
    assert!(!t.writable());
    assert!(t.write_room());
    assert_eq!(t.write(&[b'b'; 5000], &mut out), OUT_SIZE - 300);
    assert!(!t.write_room());
    assert_eq!(t.write(b"c", &mut out), 0);
    // an echo that finds no room is dropped
    let (echo, _) = feed(&mut t, b"z");
    assert!(echo.is_empty());
    let (echo, _) = feed(&mut t, b"\x11");
    assert_eq!(echo.len(), OUT_SIZE);
    assert!(echo[..300].iter().all(|&c| c == b'a') && echo[300..].iter().all(|&c| c == b'b'));
    assert!(t.writable() && t.write_room());
}

#[test]
fn without_ixon_stop_and_start_are_input() {
    let mut t = tty();
    set_iflag(&mut t, ICRNL);
    let (echo, _) = feed(&mut t, b"\x13\x11\r");
    assert_eq!(echo, b"^S^Q\n");
    assert!(!t.output_stopped());
    assert_eq!(read(&mut t, 16).as_deref(), Some(&b"\x13\x11\n"[..]));
}

#[test]
fn a_signal_character_restarts_output_and_discards_what_was_held() {
    let mut t = tty();
    feed(&mut t, b"\x13ab");
    let mut out = EchoBuf::default();
    assert_eq!(t.write(b"held output\n", &mut out), 12);
    let (echo, sigs) = feed(&mut t, b"\x03");
    assert_eq!(sigs, [TtySignal::Int]);
    // isig() flushed the held echo and output: ^C's own echo only
    assert_eq!(echo, b"^C");
    assert!(!t.output_stopped());
    // with NOFLSH what was held goes out first
    set_lflag(&mut t, DEFAULT_L | NOFLSH);
    feed(&mut t, b"\x13cd");
    let (echo, _) = feed(&mut t, b"\x03");
    assert_eq!(echo, b"cd^C");
}

#[test]
fn flush_output_drops_what_is_held() {
    let mut t = tty();
    feed(&mut t, b"\x13");
    let mut out = EchoBuf::default();
    t.write(b"gone", &mut out);
    t.flush_output();
    let (echo, _) = feed(&mut t, b"\x11");
    assert!(echo.is_empty());
}

#[test]
fn ixany_restarts_on_any_character() {
    let mut t = tty();
    feed(&mut t, b"\x13a");
    assert!(t.output_stopped());
    set_iflag(&mut t, ICRNL | IXON | IXANY);
    let (echo, _) = feed(&mut t, b"b");
    assert_eq!(echo, b"ab");
    assert!(!t.output_stopped());
    // STOP and START themselves are still flow control
    let (echo, _) = feed(&mut t, b"\x13\x11");
    assert!(echo.is_empty());
    assert_eq!(t.pending_line(), b"ab");
}

#[test]
fn switching_ixon_off_restarts_output() {
    let mut t = tty();
    feed(&mut t, b"\x13q");
    let mut b = t.termios();
    b[..4].copy_from_slice(&ICRNL.to_le_bytes());
    let mut out = EchoBuf::default();
    t.set_termios(&b, &mut out);
    assert_eq!(out.0, b"q");
    assert!(!t.output_stopped());
}

#[test]
fn tcflow_stop_needs_tcflow_start() {
    let mut t = tty();
    t.flow_off();
    assert!(t.output_stopped());
    let mut out = EchoBuf::default();
    assert_eq!(t.write(b"w", &mut out), 1);
    // ^Q does not undo TCOOFF, nor does a signal character (which
    // throws the held "w" away)
    let (echo, _) = feed(&mut t, b"\x11\x03");
    assert!(echo.is_empty());
    assert!(t.output_stopped());
    t.flow_on(&mut out);
    assert_eq!(out.0, b"^C");
    assert!(!t.output_stopped());
    // TCOON on running output changes nothing
    t.flow_on(&mut out);
    assert_eq!(out.0, b"^C");
}

#[test]
fn disabled_start_and_stop_characters_do_nothing() {
    let mut t = tty();
    set_cc(&mut t, VSTOP, 0);
    let (echo, _) = feed(&mut t, b"\x13");
    assert_eq!(echo, b"^S");
    assert!(!t.output_stopped());
}

#[test]
fn a_literal_next_stop_character_is_input() {
    let mut t = tty();
    let (echo, _) = feed(&mut t, b"\x16\x13\r");
    assert_eq!(echo, b"^\x08^S\n");
    assert!(!t.output_stopped());
    assert_eq!(read(&mut t, 8).as_deref(), Some(&b"\x13\n"[..]));
}

#[test]
fn termio_is_the_low_half_of_each_flag_and_eight_control_characters() {
    let t = default_termios();
    let o = termio_of(&t);
    // c_iflag 0o2400, c_oflag 0o5, c_cflag 0o2277, c_lflag 0o105073 (low 16 bits)
    assert_eq!(&o[0..8], &[0x00, 0x05, 0x05, 0x00, 0xbf, 0x04, 0x3b, 0x8a]);
    assert_eq!(o[8], 0);
    assert_eq!(&o[9..17], &[3, 28, 127, 21, 4, 0, 1, 0]);
}

#[test]
fn tcseta_keeps_the_high_flag_bits_and_the_later_control_characters() {
    let mut old = default_termios();
    old[0..4].copy_from_slice(&0x0001_0400u32.to_le_bytes());
    let mut termio = termio_of(&old);
    termio[0..2].copy_from_slice(&0x0002u16.to_le_bytes()); // c_iflag low half
    termio[9] = 7; // VINTR
    let new = termios_with_termio(&old, &termio);
    assert_eq!(u32::from_le_bytes([new[0], new[1], new[2], new[3]]), 0x0001_0002);
    assert_eq!(new[17], 7);
    assert_eq!(&new[25..], &old[25..], "VSTART.. are not in a termio");
    assert_eq!(termio_of(&new), termio);
}

#[test]
fn a_termios_lock_keeps_the_locked_bits_and_characters() {
    let old = default_termios();
    let mut new = [0u8; TERMIOS_SIZE];
    new[12..16].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
    new[16] = 5;
    let mut lock = [0u8; TERMIOS_SIZE];
    lock[12..16].copy_from_slice(&ICANON.to_le_bytes());
    lock[17 + VINTR] = 1;
    let got = apply_termios_lock(&old, &new, &lock);
    let lflag = u32::from_le_bytes([got[12], got[13], got[14], got[15]]);
    assert_eq!(lflag, !ICANON | (0o105073 & ICANON));
    assert_eq!(got[16], 5, "c_line is not locked");
    assert_eq!(got[17 + VINTR], 3, "VINTR locked: kept");
    assert_eq!(got[17 + VQUIT], 0, "VQUIT unlocked: changed");
    assert_eq!(apply_termios_lock(&old, &new, &[0; TERMIOS_SIZE]), new);
}

proptest! {
    #[test]
    fn termio_round_trips_through_any_termios(old in proptest::array::uniform32(any::<u8>()), tail in any::<[u8; 4]>(), termio in any::<[u8; 17]>()) {
        let mut o = [0u8; TERMIOS_SIZE];
        o[..32].copy_from_slice(&old);
        o[32..].copy_from_slice(&tail);
        let new = termios_with_termio(&o, &termio);
        prop_assert_eq!(termio_of(&new), termio);
        // a full lock keeps everything; none changes everything
        prop_assert_eq!(apply_termios_lock(&o, &new, &[0xff; TERMIOS_SIZE]), o);
    }
}
