# signward operator: create realms and rotate keys (create, read, list, sign audit checkpoints) and
# destroy retired keys (allow deletion on that one key, then delete it). Never export or back up:
# keys are created exportable=false, allow_plaintext_backup=false, and those paths are not granted.
# (a mount other than "transit": replace the "transit/" prefix of every path).
path "transit/keys/signward-*" {
  capabilities = ["create", "read", "update", "delete"]
  # only what signward sends: a key created unexportable without plaintext backup, and deletion
  # allowed before a retired key is destroyed; a config that makes a key exportable (which cannot
  # be undone), allows backups, or sets auto-rotation is refused by the server
  allowed_parameters = {
    "type" = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"]
    "exportable" = [false]
    "allow_plaintext_backup" = [false]
    "deletion_allowed" = [true]
  }
}

path "transit/keys" {
  capabilities = ["list"]
}

path "transit/sign/signward-*" {
  capabilities = ["update"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
