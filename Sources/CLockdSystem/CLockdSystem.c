// The C target needs one source file; every wrapper lives in the header.
