"""peerlab: drive and inspect a pair of HAProxy load balancers that replicate sticky sessions."""

__version__ = "0.1.0"
