# A Citus cluster for the autoencoder TAP tests: a coordinator and N workers
# (two by default), each an ordinary PostgreSQL::Test::Cluster node started
# by AeTest::ae_new_node, on loopback TCP.
#
#   use FindBin; use lib $FindBin::RealBin; use AeTest; use CitusCluster;
#
#   CitusCluster::require_citus();      # skips (or fails) the whole test file
#   my $c = CitusCluster->new('citus');  # started, registered
#   $c->create_extension('autoencoder'); # on the coordinator; checked on workers
#   $c->safe_psql("SELECT ...");         # on the coordinator
#   $c->stop;
#
# Citus itself is not built here: the TAP tests run as the unprivileged
# postgres user. scripts/test.sh builds and installs it as root with
# ../shared/citus/build.sh (Citus 13.2.2, the last release for PostgreSQL 15;
# Debian does not package it) before prove. Whether the test runs is decided
# by ../shared/citus, the directory holding the tarball and build.sh:
#
#   ../shared/citus absent                 -> skip_all "skip: ../shared/citus
#                                             not present (...)"
#   present, citus.so installed            -> the test runs
#   present, citus.so not installed        -> one failing test (the build step
#                                             was skipped or failed)
#
# citus.so is looked for in `pg_config --pkglibdir` (the first pg_config on
# PATH: the installation the test nodes run). ../shared/citus is taken from
# $AE_CITUS_DIR when set (scripts/test.sh stages a copy of the tree under
# /tmp, where the relative path does not exist, and exports the absolute
# path), else looked up relative to the repository root (test/t/../..).
package CitusCluster;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use AeTest qw(ae_new_node);

# Settings every Citus node gets (on top of AeTest's). Loopback TCP: Citus
# connects to nodes by host name and port; the test nodes otherwise listen on
# a Unix socket only (they keep it: safe_psql uses it).
my $CITUS_CONF = <<'EOC';
shared_preload_libraries = 'citus'
listen_addresses = '127.0.0.1'
max_connections = 100
max_worker_processes = 16
# (Citus raises max_prepared_transactions itself, for its two-phase commits)
citus.shard_count = 32
citus.enable_statistics_collection = off
log_statement = none
EOC

# The host name the nodes are registered under.
our $HOST = '127.0.0.1';

# `pg_config --pkglibdir` of the first pg_config on PATH.
sub pkglibdir
{
	my $dir = `pg_config --pkglibdir 2>/dev/null`;
	chomp $dir;
	return $dir;
}

# Where ../shared/citus (tarball and build.sh) should be.
sub shared_citus_dir
{
	return $ENV{AE_CITUS_DIR} if defined $ENV{AE_CITUS_DIR} && $ENV{AE_CITUS_DIR} ne '';
	my $root = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..'));
	return File::Spec->catdir(dirname($root), 'shared', 'citus');
}

# ('run' | 'skip' | 'fail', message)
sub citus_status
{
	my $shared = shared_citus_dir();
	return ('skip', "skip: ../shared/citus not present ($shared): the Citus test needs the Citus 13.2.2 source and build.sh there")
	  unless -d $shared;
	my $lib = pkglibdir();
	return ('fail', 'pg_config not found on PATH') if $lib eq '';
	return ('run', "citus.so found in $lib") if -e "$lib/citus.so";
	return ('fail',
		    "citus.so is not installed in $lib although $shared is present: "
		  . "run (as root) bash $shared/build.sh, as scripts/test.sh does before prove");
}

# Call first in a test file: plans skip_all when Citus is not available,
# records one failing test and exits when it should have been.
sub require_citus
{
	my ($status, $msg) = citus_status();
	if ($status eq 'skip')
	{
		diag($msg);
		plan skip_all => $msg;
	}
	elsif ($status eq 'fail')
	{
		ok(0, 'Citus is installed') or diag($msg);
		done_testing();
		exit 1;
	}
	note($msg);
	return;
}

# CitusCluster->new($name, workers => 2, conf => "extra postgresql.conf lines")
# Starts a coordinator and the workers, creates the citus extension on each,
# registers the coordinator (so reference tables get a placement on it) and
# the workers. Dies on any failure.
sub new
{
	my ($class, $name, %opts) = @_;
	my $nworkers = $opts{workers} // 2;
	my $conf = $CITUS_CONF . ($opts{conf} // '');
	my $self = bless { name => $name, workers => [] }, $class;

	$self->{coordinator} = ae_new_node("${name}_coord", conf => $conf);
	push @{ $self->{workers} }, ae_new_node("${name}_w$_", conf => $conf) for 1 .. $nworkers;

	for my $node ($self->nodes)
	{
		$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	}
	my $coord = $self->{coordinator};
	$coord->safe_psql('postgres',
		"SELECT citus_set_coordinator_host('$HOST', " . $coord->port . ')');
	for my $w ($self->workers)
	{
		$coord->safe_psql('postgres', "SELECT citus_add_node('$HOST', " . $w->port . ')');
	}
	my $active = $coord->safe_psql('postgres',
		"SELECT count(*) FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND shouldhaveshards");
	die "CitusCluster: $active active workers, expected $nworkers" unless $active == $nworkers;
	return $self;
}

sub coordinator { return $_[0]->{coordinator}; }
sub workers     { return @{ $_[0]->{workers} }; }
sub nodes       { my $self = shift; return ($self->{coordinator}, $self->workers); }
sub worker_ports { return map { $_->port } $_[0]->workers; }

# On the coordinator, database postgres.
sub safe_psql
{
	my ($self, $sql, %params) = @_;
	return $self->{coordinator}->safe_psql('postgres', $sql, %params);
}

# On the coordinator: (exit code, stdout, stderr), never dies on SQL errors.
sub psql
{
	my ($self, $sql, %params) = @_;
	my ($out, $err) = ('', '');
	my $rc = $self->{coordinator}->psql('postgres', $sql, stdout => \$out, stderr => \$err, %params);
	return ($rc, $out, $err);
}

# On a given node: (exit code, stdout, stderr), never dies on SQL errors.
sub psql_on
{
	my ($self, $node, $sql, %params) = @_;
	my ($out, $err) = ('', '');
	my $rc = $node->psql('postgres', $sql, stdout => \$out, stderr => \$err, %params);
	return ($rc, $out, $err);
}

# The same statement on every worker: list of results, in worker order.
sub on_workers
{
	my ($self, $sql) = @_;
	return map { $_->safe_psql('postgres', $sql) } $self->workers;
}

# CREATE EXTENSION on the coordinator (Citus propagates it to the workers).
# Returns the version installed on each worker, in worker order.
sub create_extension
{
	my ($self, $ext) = @_;
	$self->safe_psql("CREATE EXTENSION $ext");
	return $self->on_workers("SELECT extversion FROM pg_extension WHERE extname = '$ext'");
}

# Hash-distributes a table that exists on the coordinator.
sub distribute
{
	my ($self, $table, $column, %opts) = @_;
	my $extra = '';
	$extra .= ", colocate_with => '$opts{colocate_with}'" if $opts{colocate_with};
	$extra .= ", shard_count => $opts{shard_count}" if $opts{shard_count};
	return $self->safe_psql("SELECT create_distributed_table('$table', '$column'$extra)");
}

sub stop
{
	my $self = shift;
	$_->stop for reverse $self->nodes;
	return;
}

1;
