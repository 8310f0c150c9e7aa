// Placeholder until this layer's tests land.
