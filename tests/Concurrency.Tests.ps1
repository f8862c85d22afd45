# Many readers of one image at once, and an image replaced while a reader holds it open.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-concurrency-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
}
AfterAll { if (Test-Path $script:Work) { Remove-Item -Recurse -Force $script:Work } }

Describe 'Concurrent readers' {
    It 'agree on every file of an image read by many parallel runspaces' {
        $img = Join-Path $script:Vectors 'wide.static.daxfs'
        $expected = Get-DaxFsItem $img -Recurse -Type File | ForEach-Object {
            '{0} {1}' -f $_.FullName, [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData(($_ | Get-DaxFsContent -AsByteStream)))
        }
        $module = $env:DAXFS_MODULE_PATH
        $runs = 1..16 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $lines = Get-DaxFsItem $using:img -Recurse -Type File | ForEach-Object {
                '{0} {1}' -f $_.FullName, [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData(($_ | Get-DaxFsContent -AsByteStream)))
            }
            , $lines
        }
        $runs | Should -HaveCount 16
        foreach ($r in $runs) { $r | Should -Be $expected }
    }

    It 'keeps serving the old contents to a reader that holds an image replaced atomically' {
        $src = Join-Path $script:Work 'src'
        New-Item -ItemType Directory $src -Force | Out-Null
        Set-Content (Join-Path $src 'version.txt') 'old'
        $img = Join-Path $script:Work 'live.daxfs'
        New-DaxFsImage $src $img | Out-Null
        $reader = [DaxFs.Core.Read.DaxFsImageReader]::Open($img, $null)
        try {
            Set-Content (Join-Path $src 'version.txt') 'new and longer'
            New-DaxFsImage $src $img -Force | Out-Null                      # temp file, then rename over the old one
            Get-DaxFsContent $img -Path /version.txt | Should -Be 'new and longer'
            $ino = 0u
            $reader.TryLookup('/version.txt', [ref]$ino) | Should -BeTrue
            $stream = $reader.OpenContent($ino)
            try { [IO.StreamReader]::new($stream).ReadToEnd().TrimEnd() | Should -Be 'old' } finally { $stream.Dispose() }
        }
        finally { $reader.Dispose() }
    }
}
