# The chart's MinIO set-up (templates/minio-buckets-job.yaml), idempotent: the pipeline's buckets,
# then one MinIO user per identity with the identity's policy. The policies are breweries.access's,
# written by `breweries access-policies --format minio --output-dir "$POLICIES"`;
# tests/integration/test_object_store_access.py runs this same file against a real MinIO.
#   S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   MinIO and its root user
#   BUCKETS      the buckets, separated by spaces
#   POLICIES     a folder of <identity>.json policy documents
#   CREDENTIALS  a folder with each identity's Secret as files <identity>/access-key, <identity>/secret-key
set -eu
until mc alias set store "$S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null; do
  echo "waiting for MinIO at $S3_ENDPOINT"; sleep 3
done
for bucket in $BUCKETS; do mc mb --ignore-existing "store/$bucket"; done
for policy in "$POLICIES"/*.json; do
  identity="$(basename "$policy" .json)"
  keys="$CREDENTIALS/$identity"
  if [ ! -s "$keys/access-key" ] || [ ! -s "$keys/secret-key" ]; then
    echo "identity $identity: its Secret is missing or lacks a key: no MinIO user for it"
    continue
  fi
  user="$(cat "$keys/access-key")"
  # create replaces a policy of that name, user add resets the user's secret key, and attaching a
  # policy already attached changes nothing: a rerun applies what changed.
  mc admin policy create store "breweries-$identity" "$policy" >/dev/null
  mc admin user add store "$user" <"$keys/secret-key" >/dev/null
  mc admin policy attach store "breweries-$identity" --user "$user" >/dev/null
  echo "identity $identity: MinIO user $user with policy breweries-$identity"
done
