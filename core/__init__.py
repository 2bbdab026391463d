"""The ground floor every process shares: settings (settings.yml plus SHOP_* variables) and the database."""
