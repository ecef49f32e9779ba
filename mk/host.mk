# Host-side tests of generic code: placeholder.
