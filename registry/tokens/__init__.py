"""The registry token server's cryptography: its ES256 signing key and the tokens it signs."""
