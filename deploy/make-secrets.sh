#!/bin/sh
# The secret files of the secure compose profile (deploy/docker-compose.secure.yml), made once:
#   sh deploy/make-secrets.sh            # into deploy/secrets/ (gitignored)
#   sh deploy/make-secrets.sh DIR        # elsewhere
# One random password per file (48 hex digits: no quote, semicolon or newline to escape),
# kept when the file is already there, so running it again changes nothing; delete a file to
# get a new password for it. kafka_jaas.conf, the broker's users and their passwords, is
# written again from the Kafka password files at every run.
# Docker Compose bind-mounts each file at /run/secrets/<name> with the host file's owner and
# mode, and the services run as other users (Elasticsearch, Kibana and Kafka as uid 1000,
# newsflow as its own system user): the files are 644 inside a 700 directory, which keeps
# the other users of this host out. No password is passed as a command argument here (printf
# is the shell's own).
set -eu

dir=${1:-$(dirname "$0")/secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

KAFKA_USERS="broker setup connector worker"
PASSWORDS="elastic_password kibana_password es_setup_password es_worker_password"
for user in $KAFKA_USERS; do
    PASSWORDS="$PASSWORDS kafka_${user}_password"
done

for name in $PASSWORDS; do
    if [ ! -s "$dir/$name" ]; then
        od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$dir/$name"
        echo "made $dir/$name"
    fi
done

password() { cat "$dir/kafka_$1_password"; }
jaas="$dir/.kafka_jaas.conf.tmp"
{
    echo "KafkaServer {"
    echo "    org.apache.kafka.common.security.plain.PlainLoginModule required"
    printf '    username="broker" password="%s"' "$(password broker)"
    for user in $KAFKA_USERS; do
        printf '\n    user_%s="%s"' "$user" "$(password "$user")"
    done
    printf ';\n};\n'
} > "$jaas"
mv "$jaas" "$dir/kafka_jaas.conf"
echo "made $dir/kafka_jaas.conf"

chmod 644 "$dir"/*
