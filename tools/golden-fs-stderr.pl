#!/usr/bin/perl
# golden-fs-stderr.pl -- normalise repart's stderr for the file-system golden
# cases (cases with an `fs` file, see testdata/golden/README.md). Filter:
# stdin -> stdout. Used by tools/golden-lib.sh (capture) and tests/golden.rs.
#
# Rules (in this order):
#  1. Progress output of block copies ("\rSRC → DST 1M/32M   3%\r", upstream
#     prints it even when stderr is not a tty), the line clearing after it
#     ("\r<spaces>\r", printed alone when nothing was copied, e.g. from /dev/null)
#     and all carriage returns are removed.
#  2. Output of the mkfs tools is dropped: every line after "Ready to populate
#     <fs> filesystem." or "Formatting future partition N." up to (excluding) the
#     next line that repart itself prints at the end of formatting ("... successfully
#     formatted as ...", "(mkfs) failed ...", "(mcopy) failed ...", "Failed to ...", "Successfully formatted
#     ...", "Minimal partition size ..."); also after "Minimal partition size of
#     <writable fs> filesystem ..." (the second, final mkfs run of Minimize=); repart's own "Preparing to populate"/"Ready
#     to populate" lines in that range are kept.
#  3. Temp names: /var/tmp/.#repartXXXX -> {tmpfile}, /var/tmp/repart-XXXXXX ->
#     {tmpdir}, /dev/loopN[pM] -> /dev/loop{N}, the random dm-crypt mapping
#     name luks-repart-HEX -> luks-repart-{random}.
#  4. Timings: "complete in 1.234ms." -> "complete in {time}.".
#  5. Warnings of the oracle wrapper itself ("reference-repart: warning: ...",
#     e.g. about CopyFiles= sources under --copy-source= it cannot bind-mount)
#     are dropped: they are not repart output.
#  6. The first "successfully formatted" line after "Pre-populating ... twice"
#     (the sizing pass of Minimize=, formatted with a random UUID for writable
#     file systems upstream) has its uuid replaced by {random}.
#  7. Log lines of the tpm2-tss libraries ("ERROR:tcti:src/...:455:...", also
#     WARNING/esys/...) are dropped: the libraries print them, not repart, and
#     their source positions differ between library versions (ours may run with
#     another tpm2-tss than the oracle's chroot).
use strict;
use warnings;
binmode STDIN; binmode STDOUT;
my $in_mkfs = 0;
my $prepop = 0;
while (my $l = <STDIN>) {
    # 1. progress segments (possibly several on one line, before a real message)
    $l =~ s/\S+ \xe2\x86\x92 \S+ [0-9.]+[KMGTPE]?B?\/[0-9.]+[KMGTPE]?B? +[0-9]+%\s*//g;
    $l =~ s/\S+ -> \S+ [0-9.]+[KMGTPE]?B?\/[0-9.]+[KMGTPE]?B? +[0-9]+%\s*//g;
    $l =~ s/\r +\r//g;   # the line clearing after progress (alone when nothing was read)
    $l =~ s/\r//g;
    next if $l eq '';
    next if $l =~ /^reference-repart: warning: /;
    next if $l =~ /^(?:ERROR|WARNING|INFO|DEBUG|TRACE):[a-z_]+:src\//;
    # 2. mkfs tool output
    if ($in_mkfs) {
        if ($l =~ /successfully formatted as |\((?:mkfs|mcopy)\) failed|^Failed to |^Successfully formatted|^Minimal partition size|^Could not determine/) {
            $in_mkfs = 0;
        } elsif ($l !~ /^(Preparing|Ready) to populate .* filesystem\.$/) {
            next;
        }
    }
    if ($l =~ /^Ready to populate .* filesystem\.$/ || $l =~ /^Formatting future partition \d+\.$/
        || $l =~ /^Minimal partition size of (ext[234]|xfs|btrfs|vfat|f2fs) filesystem/) {
        $in_mkfs = 1;
    }
    # 3. temp names
    $l =~ s{/var/tmp/\.#repart[A-Za-z0-9]+}{\{tmpfile\}}g;
    $l =~ s{/var/tmp/repart-[A-Za-z0-9]+}{\{tmpdir\}}g;
    $l =~ s{/dev/loop\d+(p\d+)?}{/dev/loop\{N\}}g;
    $l =~ s{luks-repart-[0-9a-f]+}{luks-repart-\{random\}}g;
    # 4. timings
    $l =~ s/( complete in ).*\.$/$1\{time\}./;
    # 5. random uuid of the sizing pass
    $prepop = 1 if $l =~ /^Pre-populating .* twice/;
    if ($prepop && $l =~ /successfully formatted as /) {
        $l =~ s/uuid [0-9a-fA-F-]+/uuid {random}/;
        $prepop = 0;
    }
    print $l;
}
