#!/usr/bin/perl
# output-expectations.pl [--write] -- check (or regenerate) the expected outputs of the
# renderer's unit tests (testdata/output/*.txt, used by src/pure/output/tests.rs) from the
# upstream outputs they were taken from, as listed in testdata/output/SOURCES:
#   capture FILE      stdout section of $REPART_CAPTURES/FILE (compared; --write copies it)
#   capture-tty FILE  must occur verbatim in the terminal output of that capture, CRs removed
#                     (checked only: stdout and stderr were merged on the pty)
#   spec A.N K        K-th fenced block of Appendix A.N of $REPART_SPEC (compared; --write)
#   oracle-run TEXT   not checkable here (the oracle command was not recorded); counted
# Defaults: REPART_CAPTURES=/work/shared/oracle/captures/257,
#           REPART_SPEC=/work/shared/spec/repart-v257.md. Exit 1 on any difference or
# missing source. Never regenerates an expectation from repart's own output.
use strict;
use warnings;
use File::Basename qw(dirname);

my $write = @ARGV && $ARGV[0] eq '--write';
my $top = dirname(dirname(__FILE__)) ;
$top = '.' if $top eq '';
my $dir = "$top/testdata/output";
my $captures = $ENV{REPART_CAPTURES} // '/work/shared/oracle/captures/257';
my $spec_path = $ENV{REPART_SPEC} // '/work/shared/spec/repart-v257.md';

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or return undef;
    local $/;
    my $text = <$fh>;
    return $text;
}

sub capture_stdout {
    my ($file) = @_;
    my $text = slurp("$captures/$file") // return undef;
    return $text =~ /^===== stdout =====\n(.*?)^===== stderr =====/ms ? $1 : undef;
}

sub spec_block {
    my ($section, $k) = @_;
    my $text = slurp($spec_path) // return undef;
    my ($body) = $text =~ /^### \Q$section\E\b[^\n]*\n(.*?)(?=^### |^## )/ms or return undef;
    my @blocks = $body =~ /^```[a-z]*\n(.*?)^```/msg;
    return $blocks[$k - 1];
}

my ($ok, $bad, $unchecked) = (0, 0, 0);
open(my $list, '<', "$dir/SOURCES") or die "output-expectations: $dir/SOURCES: $!\n";
while (my $line = <$list>) {
    next if $line =~ /^\s*(#|$)/;
    chomp $line;
    my ($name, $kind, @args) = split / /, $line;
    my $have = slurp("$dir/$name");
    my $want;
    if ($kind eq 'oracle-run') {
        $unchecked++;
        next;
    } elsif ($kind eq 'capture') {
        $want = capture_stdout($args[0]);
    } elsif ($kind eq 'spec') {
        $want = spec_block(@args);
    } elsif ($kind eq 'capture-tty') {
        my $tty = slurp("$captures/$args[0]");
        if (defined $tty && defined $have) {
            $tty =~ s/\r//g;
            if (index($tty, $have) >= 0) { $ok++ } else { $bad++; print "DIFFERS  $name (not in $args[0])\n" }
        } else {
            $bad++;
            print "MISSING  $name or its source $args[0]\n";
        }
        next;
    } else {
        die "output-expectations: unknown kind '$kind' for $name\n";
    }
    if (!defined $want) {
        $bad++;
        print "MISSING  source of $name ($kind @args)\n";
    } elsif ($write) {
        open(my $out, '>:raw', "$dir/$name") or die "$dir/$name: $!\n";
        print $out $want;
        $ok++;
    } elsif (defined $have && $have eq $want) {
        $ok++;
    } else {
        $bad++;
        print "DIFFERS  $name ($kind @args)\n";
    }
}
print "output-expectations: $ok ", ($write ? 'written' : 'match their source'),
    ", $bad differ or lack a source, $unchecked oracle runs not checkable here\n";
exit($bad ? 1 : 0);
