avn service update --project PROJECT_NAME -c migration.host=old-db.internal \
    -c migration.port=5432                                             \
    -c migration.ssl=true                                              \
    -c migration.username=postgres                                     \
    -c migration.password=SRC_PASSWORD                                 \
    -c migration.dbname=defaultdb                                      \
    -c migration.ignore_dbs=scratch,tmp                                \
    DEST_PG_NAME
