package ssl

// ContentHash exposes contentHash to the tests of package ssl_test.
var ContentHash = contentHash
