# signward operator: create realms and rotate keys (create, read, list, sign audit checkpoints) and
# destroy retired keys (allow deletion on that one key, then delete it). Never export or back up:
# keys are created exportable=false, allow_plaintext_backup=false, and those paths are not granted.
# (a mount other than "transit": replace the "transit/" prefix of every path).
path "transit/keys/signward-*" {
  capabilities = ["create", "read", "update", "delete"]
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
