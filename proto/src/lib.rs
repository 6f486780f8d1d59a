//! Apache Mesos v1 scheduler API messages (protobuf and JSON) and the RecordIO codec.
