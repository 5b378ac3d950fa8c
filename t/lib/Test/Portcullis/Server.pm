package Test::Portcullis::Server;

# The base of the test servers (Backend, Chunky, Origin): a listener served
# by one forked process, which forks once more per accepted connection;
# stopped by pid only (stop, or END for every server still running).
#
#   package Test::Portcullis::Foo;
#   use parent 'Test::Portcullis::Server';
#   ...
#   my $self = bless { port => $ls->sockport }, $class;
#   $self->start($ls, sub { my ($c, $serial) = @_; ... },    # one connection
#       lifetime  => 120,             # the server exits after 120 s (default: never)
#       on_accept => sub { my ($serial) = @_; ... });  # in the server, before the fork
#   $self->port; $self->pid; $self->stop;
#
# The connection callback runs in its own process, which exits when it
# returns; $serial counts accepted connections from 1.

use strict;
use warnings;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

my @SERVERS;

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }

# Fork the server process for listener $ls.  The parent closes $ls: only
# the server accepts on it.
sub start {
    my ($self, $ls, $connection, %o) = @_;
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        _serve($ls, $connection, %o);
        POSIX::_exit(0);
    }
    close($ls);
    $self->{pid} = $pid;
    return $self->track;
}

# Stop $self at END (servers without a process of their own, too).
sub track {
    my ($self) = @_;
    push @SERVERS, $self;
    return $self;
}

sub _serve {
    my ($ls, $connection, %o) = @_;
    my %kids;
    my $stop = 0;
    if ($o{lifetime}) {
        # a test that dies without stopping us must not leave us behind
        $SIG{ALRM} = sub { kill 'KILL', keys %kids; POSIX::_exit(0) };
        alarm($o{lifetime});
    }
    $SIG{TERM} = sub { $stop = 1 };
    $SIG{CHLD} = sub { while ((my $k = waitpid(-1, WNOHANG)) > 0) { delete $kids{$k} } };
    my $serial = 0;
    while (!$stop) {
        my $c = $ls->accept or next;    # EINTR (SIGCHLD, SIGTERM): look at $stop again
        $serial++;
        $o{on_accept}->($serial) if $o{on_accept};
        my $k = fork();
        if (defined $k && $k == 0) {
            $SIG{TERM} = 'DEFAULT';
            $SIG{CHLD} = 'DEFAULT';
            close($ls);
            $connection->($c, $serial);
            POSIX::_exit(0);
        }
        $kids{$k} = 1 if $k;
        close($c);
    }
    kill 'TERM', keys %kids;
}

# TERM the server (it TERMs its connections); KILL it if still there after 5 s.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    kill 'TERM', $pid;
    my $deadline = time() + 5;
    while (time() < $deadline) {
        last if waitpid($pid, WNOHANG) == $pid;
        sleep(0.01);
    }
    if (kill 0, $pid) { kill 'KILL', $pid; waitpid($pid, 0) }
    $self->{pid} = undef;
}

END {
    my $st = $?;
    $_->stop for @SERVERS;
    $? = $st;
}

1;
