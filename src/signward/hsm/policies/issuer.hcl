# signward issuer: sign with signward's Transit keys and read their public halves, nothing else.
# No export, no backup, no delete, no config change, no key creation, no rotation, no listing.
# Create the issuer's token with this policy only: bao token create -policy=signward-issuer -no-default-policy
# (a mount other than "transit": replace the "transit/" prefix of every path).
path "transit/sign/signward-*" {
  capabilities = ["update"]
  # Transit hashes what it signs: a prehashed digest would let the token sign any digest given
  denied_parameters = {
    "prehashed" = []
  }
}

path "transit/keys/signward-*" {
  capabilities = ["read"]
}

# the backend's status (healthz) looks its own token up; a periodic token renews itself
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
