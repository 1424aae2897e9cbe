"""Operations: the local stack, status, Kibana objects, the demo and the connector runner wiring."""
