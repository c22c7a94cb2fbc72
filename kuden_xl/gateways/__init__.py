"""SMS gateways: one interface (`base.Gateway`) and one small module per provider."""
