"""The Docker adapter: sandboxes, containers, images, volumes, logs and exec."""
