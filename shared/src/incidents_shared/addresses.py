"""The platform's default ports, defined once: the services' settings default to them, and the devstack's dev
profile (`make run`) starts Kafka, PostgreSQL and the services on them. Standard library only, so the devstack
can import it without the rest of shared/."""

KAFKA = 19092
KAFKA_CONTROLLER = 19093
POSTGRES = 15432
API = 8000
PROJECTOR = 8001
ESCALATOR = 8002

DEFAULT_BOOTSTRAP = f"127.0.0.1:{KAFKA}"
DEFAULT_DATABASE_URL = f"postgresql://incidents@127.0.0.1:{POSTGRES}/incidents"
DEFAULT_API_URL = f"http://127.0.0.1:{API}"
