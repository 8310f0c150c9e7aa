// Placeholder until shared fixtures land.
