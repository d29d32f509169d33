pub mod proto {
    pub mod pulumirpc {
        tonic::include_proto!("pulumirpc");
    }
    pub mod google_rpc {
        tonic::include_proto!("google.rpc");
    }
}
